#!/usr/bin/env bash
# A single-node Slurm on this machine, for trying and testing `neurosage search --slurm-jobs N`.
#
#   scripts/slurm-local.sh start [DIR]   # munged + slurmctld + slurmd on localhost; prints the SLURM_CONF to export
#   scripts/slurm-local.sh stop  [DIR]   # stops the three daemons by their pid files
#   scripts/slurm-local.sh status [DIR]
#
# Ports: SLURMCTLD_PORT (default 6817) and SLURMD_PORT (default 6818), e.g. when a Slurm already listens on this machine
# or two of these run side by side: SLURMCTLD_PORT=7817 SLURMD_PORT=7818 scripts/slurm-local.sh start /tmp/slurm2
# A port already in use is refused before anything starts.
#
# Needs Debian's slurm-wlm and munge (apt-get install slurm-wlm munge) and root (slurmd and munged run as root here).
# Everything lives in DIR (default /tmp/neurosage-slurm): configuration, munge key and socket, spool, state and logs;
# nothing under /etc is touched. One partition, `debug`, with this machine's CPUs and memory.
set -euo pipefail

action=${1:-}
dir=${2:-${NEUROSAGE_SLURM_DIR:-/tmp/neurosage-slurm}}
host=$(hostname -s)
ctld_port=${SLURMCTLD_PORT:-6817}
slurmd_port=${SLURMD_PORT:-6818}

die() { echo "slurm-local: $*" >&2; exit 1; }

start() {
    for tool in munged slurmctld slurmd sbatch; do
        command -v "$tool" >/dev/null || die "$tool not found; fix: apt-get install slurm-wlm munge"
    done
    [ "$(id -u)" = 0 ] || die "slurmd and munged need root here; fix: run as root (or under sudo)"
    if [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
        echo "export SLURM_CONF=$dir/slurm.conf"; return 0
    fi
    for port in "$ctld_port" "$slurmd_port"; do
        case "$port" in ''|*[!0-9]*) die "port '$port' is not a number; fix: SLURMCTLD_PORT=7817 SLURMD_PORT=7818" ;; esac
        [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "port $port is not a TCP port (1 to 65535); fix: SLURMCTLD_PORT=7817 SLURMD_PORT=7818"
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            die "port $port is in use (another Slurm?); fix: SLURMCTLD_PORT=N SLURMD_PORT=M scripts/slurm-local.sh start DIR with free ports"
        fi
    done
    [ "$ctld_port" != "$slurmd_port" ] || die "SLURMCTLD_PORT and SLURMD_PORT are both $ctld_port; fix: give two ports"
    mkdir -p "$dir"/{munge,spool,state,log}
    chmod 700 "$dir/munge"
    [ -f "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed"
    cpus=$(nproc)
    memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
    cat > "$dir/slurm.conf" <<EOF
ClusterName=neurosage-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"
    for _ in $(seq 60); do
        if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
            echo "export SLURM_CONF=$dir/slurm.conf"; return 0
        fi
        sleep 1
    done
    die "the node did not come up in 60 s; see $dir/log/slurmctld.log and $dir/log/slurmd.log"
}

stop() {
    compgen -G "$dir/*.pid" >/dev/null ||
        die "no Slurm started by this script runs from $dir (no pid files there); fix: give the DIR it was started with"
    for daemon in slurmd slurmctld munged; do
        pidfile="$dir/$daemon.pid"
        if [ -f "$pidfile" ]; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
            rm -f "$pidfile"
        fi
    done
}

status() {
    [ -f "$dir/slurm.conf" ] || die "no Slurm was started from $dir (no slurm.conf there); fix: give the DIR it was started with"
    export SLURM_CONF="$dir/slurm.conf"
    sinfo && squeue
}

case "$action" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: scripts/slurm-local.sh start|stop|status [DIR]" ;;
esac
