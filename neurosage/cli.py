"""The ``neurosage`` command line: one subcommand per user task.

Logging: warnings and errors by default (with concise progress bars), ``-q`` errors
only, ``-v`` progress messages (INFO), ``-vv`` everything (DEBUG) and full
tracebacks. The chatty loggers of hyperopt, Dask and PIL stay at WARNING unless ``-vv``.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import difflib
import errno
import logging
import os
import re
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from neurosage import __version__, commands
from neurosage.core.atomic import file_in_the_way
from neurosage.core.errors import NeurosageError
from neurosage.core.interrupts import exit_code, signal_name, terminate_as_interrupt
from neurosage.runs.folder import RunFolder
from neurosage.runs.provenance import COMMAND_LINE

__all__ = ["QUIET_LOGGERS", "build_parser", "configure_logging", "main", "error_message"]

#: Third-party loggers that speak at INFO on every call (hyperopt: two lines per TPE suggestion).
QUIET_LOGGERS = ("hyperopt", "distributed", "dask", "PIL", "matplotlib", "fsspec", "h5py")


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help, wrapped at spaces only: flag and method names with hyphens (``--teacher-arg``, ``tau-b``) stay whole."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        import textwrap

        return textwrap.wrap(self._whitespace_matcher.sub(" ", text).strip(), width, break_on_hyphens=False)


class _Parser(argparse.ArgumentParser):
    """argparse with the project's one-line errors: what is wrong with which flag, and the fix; help wrapped at spaces."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        self._given = list(sys.argv[1:] if args is None else args)  # what error() names when a flag is unknown
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        if message.startswith("the following arguments are required"):  # an unknown flag said first: it is the mistake
            flags = [s for action in self._actions for s in action.option_strings]
            given = getattr(self, "_given", [])
            unknown = next((t.split("=")[0] for t in given[:given.index("--") if "--" in given else None]
                            if t.startswith("-") and len(t) > 1 and not t[1:2].isdigit() and t.split("=")[0] not in flags), None)
            if unknown is not None:
                close = difflib.get_close_matches(unknown, flags, n=1, cutoff=0.6)
                message = f"unrecognized argument {unknown}" + (f" (did you mean {close[0]}?)" if close else "") + f", and {message}"
        print(f"{self.prog}: error: {message}; fix: see {self.prog} --help", file=sys.stderr)
        sys.exit(2)


def _last_session_finished(run_dir: str) -> bool:
    """Whether ``run_dir``'s run.json records this command's session as finished (False when it cannot be read)."""
    try:
        last = RunFolder(run_dir).last_session()
        return last.get("status") == "finished" and last.get("command") == COMMAND_LINE.get()
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)command's parser the arguments were given to: ``neurosage export brainscore ...`` -> export brainscore's."""
    sub = parser
    while True:
        action = next((a for a in sub._actions if isinstance(a, argparse._SubParsersAction)), None)
        if action is None:
            return sub
        chosen = getattr(args, action.dest, None)
        if chosen is None or chosen not in action.choices:
            return sub
        sub = action.choices[chosen]


#: A flag named in an error's fix.
_FLAG = re.compile(r"(?<![\w\-\"'\[])--[a-z][a-z0-9-]*(?![a-z0-9=-])")  # not "--qos=debug": a directive written as a value


def flags_of_this_command(message: str, parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """``message`` with a note when its fix names flags this command does not have (a library error's fix is written
    for every command: ``--n-stimuli`` is a search flag, an analysis reads ``n-stimuli`` from its --config TOML)."""
    _, sep, fix = message.partition("; fix: ")
    sub = _command_parser(parser, args)
    own = {s for action in sub._actions for s in action.option_strings}
    mine = re.split(r"\bneurosage [a-z]", fix)[0]  # flags after "neurosage bench ..." belong to that command
    foreign = [flag for flag in dict.fromkeys(_FLAG.findall(mine)) if flag not in own]
    if not sep or not foreign:
        return message
    name = f"neurosage {sub.prog.removeprefix('neurosage ')}"
    as_toml = "--config" in own
    where = f": set {', '.join(f.lstrip('-') + ' = ...' for f in foreign)} in its --config TOML" if as_toml else ""
    return f"{message} ({name} has no {', '.join(foreign)}{where})"


#: One-value flags whose repetition means "both" to a reader (two TOML files, two teachers), where argparse keeps the last
#: without a word; any other flag given twice follows the usual rule, the last one applies (``... --budget 3 --resume``).
COMBINED_FLAGS = {"--config": "merge the settings into one TOML file", "--teacher": "combine the teachers in one spec: --teacher A+B",
                  "--layers": "list the layers in one flag, comma-separated: --layers cell_0,cell_1"}


def _refuse_repeated(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> None:
    """Refuse a one-value flag given twice with different values, and a flag of :data:`COMBINED_FLAGS` given twice at all
    (argparse would keep the last without a word); the same value twice is harmless."""
    sub = _command_parser(parser, args)
    seen: dict[argparse.Action, list[str]] = {}
    end = argv.index("--") if "--" in argv else len(argv)
    for i, token in enumerate(argv[:end]):
        action = sub._option_string_actions.get(token.split("=", 1)[0]) if token.startswith("-") else None
        if action is None or isinstance(action, (argparse._AppendAction, argparse._CountAction, argparse._HelpAction)):
            continue
        value = token.split("=", 1)[1] if "=" in token else (argv[i + 1] if action.nargs != 0 and i + 1 < end else "")
        seen.setdefault(action, []).append(value)
    for action, values in seen.items():
        flag = action.option_strings[-1]
        if len(set(values)) > 1 or (len(values) > 1 and flag in COMBINED_FLAGS):  # two values: argparse would keep the last unsaid
            fix = COMBINED_FLAGS.get(flag, f"give {flag} once, with the value you mean")
            print(f"{sub.prog}: error: {flag} is given {len(values)} times ({', '.join(map(repr, values))}); it takes one value, and only "
                  f"the last would apply; fix: {fix}", file=sys.stderr)
            sys.exit(2)


#: Flags that do one thing and exit, with the only other flags that thing reads: anything else given beside them would be ignored.
EXIT_FLAGS = {"--list-layers": {"--trial"}}


def _refuse_ignored(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str]) -> None:
    """Refuse flags given beside a flag of :data:`EXIT_FLAGS` that it would ignore (``rdm M --list-layers --layers x``)."""
    sub = _command_parser(parser, args)
    end = argv.index("--") if "--" in argv else len(argv)
    tokens = [t.split("=", 1)[0] for t in argv[:end] if t.startswith("-")]
    flags = {sub._option_string_actions[t].option_strings[-1] for t in tokens if t in sub._option_string_actions} - {"--help"}
    for flag, reads in EXIT_FLAGS.items():
        ignored = sorted(flags - reads - {flag})
        if flag in flags and ignored:
            print(f"{sub.prog}: error: {flag} only prints and exits: {', '.join(ignored)} would be ignored; fix: drop "
                  f"{', '.join(ignored)}, or run without {flag}", file=sys.stderr)
            sys.exit(2)


def _refuse_empty(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse an empty value (``--run-dir ""``, an unset shell variable): no option of neurosage means anything by it (an empty
    folder name would be the current folder)."""
    sub = _command_parser(parser, args)
    for action in sub._actions:
        value = getattr(args, action.dest, None)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and not v.strip() for v in values):
            name = action.option_strings[-1] if action.option_strings else action.dest.upper()
            optional = action.option_strings and not action.required
            print(f"{sub.prog}: error: {name} is empty (an unset shell variable?); fix: give it a value"
                  + (f", or leave {name} out" if optional else ""), file=sys.stderr)
            sys.exit(2)
        padded = next((v for v in values if isinstance(v, str) and v != v.strip() and not os.path.exists(v)), None)
        if padded is not None:  # 'tiny ' from a copied path, 'x/run ' from a quoted variable: a new folder would keep the space
            name = action.option_strings[-1] if action.option_strings else action.dest.upper()
            print(f"{sub.prog}: error: {name} {padded!r} has a space at its start or end (a copied path, or a quoted variable?), and no "
                  f"such path exists{'' if os.path.exists(padded.strip()) else ' (one made would keep the space)'}; fix: give "
                  f"{name} {padded.strip()!r}", file=sys.stderr)
            sys.exit(2)


def _analysis_names() -> list[str]:
    from neurosage.commands import registry_names

    return registry_names("neurosage.analyses", "ANALYSES")


def _refuse_unknown(parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]) -> None:
    """Report arguments no parser took, under the command they were given to, with the closest flag it has."""
    sub = _command_parser(parser, args)
    flags = [s for action in sub._actions for s in action.option_strings]
    first = next((e.split("=")[0] for e in extra if e.startswith("-")), None)
    close = difflib.get_close_matches(first, flags, n=1, cutoff=0.75) if first else []
    hints = [f"did you mean {close[0]}?"] if close else []
    positional = {action.dest.replace("_", "-"): (action.metavar or action.dest.upper()) for action in sub._actions if not action.option_strings}
    if first and not close and first.lstrip("-") in positional:  # export optuna RUN --storage x.db: STORAGE is positional
        hints.append(f"{positional[first.lstrip('-')]} is positional: give its value without {first}")
    analysis = getattr(args, "name", None)
    if getattr(args, "command", None) == "analyze" and extra and extra[0] in _analysis_names():  # two analyses in one call
        hints.append(f"analyze runs one analysis per call: run neurosage analyze {analysis} ... and then neurosage analyze {extra[0]} ... "
                     "(with the same --run-dir they share its teacher)")
    elif getattr(args, "command", None) in ("demo", "analyze") and extra and not extra[0].startswith("-"):
        hints.append(f"the run folder is given with --run-dir {extra[0]}")
    bare = next((e for e in extra if e.isdigit()), None)
    if bare is not None and "--trial" in flags:  # rdm RUN 1: the trial as a second positional
        hints.append(f"a trial is given with --trial {bare}")
    if getattr(args, "command", None) == "analyze" and first and not close:
        hints.append("an analysis takes its options (e.g. compare-method, budget) from the TOML file given to --config")
    sub.error(f"unrecognized arguments: {' '.join(extra)}{''.join('; ' + h for h in hints)}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="neurosage", description="Brain-guided neural architecture search (TG-SAGE).")
    parser.add_argument("--version", action="version", version=f"neurosage {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-v progress messages, -vv debug and tracebacks)")
    parser.add_argument("-q", "--quiet", action="store_true", help="errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in commands.REGISTRY:
        register(sub)
    return parser


def configure_logging(verbose: int, quiet: bool = False) -> int:
    """Set the root level from ``-q``/``-v``/``-vv`` and quiet third-party loggers unless ``-vv``; returns the level."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose >= 2 else max(level, logging.WARNING))
    if verbose < 2:  # Dask worker processes read their logging level from the environment
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    return level


#: Options of ``neurosage`` itself, accepted anywhere on the line (``neurosage search RUN -q`` as ``neurosage -q search RUN``).
GLOBAL_FLAGS = re.compile(r"^(-q|--quiet|-v+|--verbose)$")


def globals_first(argv: list[str]) -> list[str]:
    """``argv`` with the global flags moved before the command (up to a ``--``), so they work wherever they are typed."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if GLOBAL_FLAGS.match(a)]
    return flags + [a for a in argv[:end] if not GLOBAL_FLAGS.match(a)] + argv[end:]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status. Its command line is recorded in
    the run folders it writes, and only there: a later call from the same Python session records its own."""
    return contextvars.copy_context().run(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    argv = globals_first(list(sys.argv[1:] if argv is None else argv))
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            _refuse_unknown(parser, args, extra)
        _refuse_repeated(parser, args, argv)
        _refuse_ignored(parser, args, argv)
        _refuse_empty(parser, args)
    except SystemExit as exc:  # --help, --version, or a flag argparse refused (already reported on one line)
        return int(exc.code or 0)
    COMMAND_LINE.set(["neurosage", *argv])
    configure_logging(args.verbose, args.quiet)
    os.environ.setdefault("MPLBACKEND", "Agg")  # this process draws files, never windows
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        with terminate_as_interrupt():
            return int(args.func(args) or 0)
    except BrokenPipeError:  # the reader of our output went away (neurosage status RUN | head -1): what it wanted was printed
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return 0
    except (NeurosageError, OSError, KeyError, ValueError, RuntimeError) as exc:  # the user's mistakes: one line
        if args.verbose >= 2:
            traceback.print_exc()
        if isinstance(exc, OSError) and exc.filename is None and exc.errno in _DISK_ERRORS and _stdout_fails():
            print(f"neurosage {args.command}: error: could not write the output ({exc.strerror or exc}); fix: send the output where it can "
                  "be written (the redirection's disk is full or failing), or run the command without redirecting it", file=sys.stderr)
            return 2
        message = flags_of_this_command(error_message(exc, getattr(args, "run_dir", None), args.command), parser, args)
        print(f"neurosage {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        run_dir = getattr(args, "run_dir", None)
        name = signal_name(getattr(exc, "signum", signal.SIGINT))
        if run_dir and _last_session_finished(run_dir):  # the signal came after the run was recorded as finished
            print(f"neurosage {args.command}: interrupted ({name}) after the run finished; its results in {run_dir} are complete", file=sys.stderr)
            return exit_code(exc)
        started = args.command == "search" and run_dir and RunFolder(run_dir).has_journal()
        again = (f"neurosage {args.command} {run_dir} --resume" if started else
                 "the same command again"
                 + (" (the search had not started)" if args.command == "search" else " (finished work in the run folder is kept)"))
        print(f"neurosage {args.command}: interrupted ({name}); to continue run {again}", file=sys.stderr)
        return exit_code(exc)
    except Exception as exc:  # anything else is a defect of neurosage: still one line, and how to report it
        if args.verbose >= 2:
            traceback.print_exc()
        text = str(exc).splitlines()[0][:300] if str(exc) else ""
        print(f"neurosage {args.command}: error: unexpected {type(exc).__name__}: {text}; fix: rerun with -vv for the traceback and report it "
              "(a neurosage defect: every mistake should get its own message)", file=sys.stderr)
        return 1


def _stdout_fails() -> bool:
    """Whether standard output cannot take what was printed (``> /dev/full``); if so, later writes go to the null device
    (no second error when Python flushes at exit)."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (captured, a notebook): not what failed
        return False
    try:
        sys.stdout.flush()
        os.write(fd, b"\n")  # the failed write's bytes are gone: a probe (only after an error with no file)
        return False
    except OSError:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
        return True


#: errno values of a full or failing disk.
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EIO}


def error_message(exc: BaseException, run_dir: str | None = None, command: str = "search") -> str:
    """One line for an error: what went wrong, where, and the fix (never torch's unsafe ``weights_only=False`` advice)."""
    if isinstance(exc, NeurosageError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return f"could not write {exc.filename or 'a file'} (the disk is read-only); fix: give a run folder on a writable disk"
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRORS:
        where = f" in {run_dir}" if run_dir else ""
        again = f"neurosage {command} {run_dir} --resume" if run_dir and command == "search" else f"the same neurosage {command} command"
        return f"could not write {exc.filename or 'a file'}{where} ({exc.strerror}); fix: free space on that disk, then run {again}"
    if isinstance(exc, (NotADirectoryError, FileExistsError)) and exc.filename:
        blocker = file_in_the_way(exc.filename)
        if blocker is not None:  # a path that should be a folder (a run folder, --out) names a file
            return (f"{blocker} is a file, where a folder was needed (for {exc.filename}); fix: give a folder path (a new one is created), "
                    f"or move {blocker.name} away")
    if isinstance(exc, PermissionError):
        return f"{exc.filename or 'a file'}: permission denied; fix: give a path you can write (or change its permissions)"
    if isinstance(exc, OSError):
        return f"{exc.filename or ''}: {exc.strerror or exc}; fix: check the path and its permissions"
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    if "weights_only" in text:
        return "the file is not a PyTorch state dict that can be loaded safely; fix: give a file written by torch.save(model.state_dict(), path)"
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    text = " ".join(lines[:3]) if lines and lines[0].endswith(":") else (lines[0] if lines else type(exc).__name__)  # "...message:" + what
    if "dask config file" in text and "malformed" in text:
        return f"{text}; fix: correct that YAML file (indentation, a colon after each key), or move it away"
    return text if "fix:" in text else f"{text}; fix: check the value named above (neurosage {command} --help; -vv shows the traceback)"


if __name__ == "__main__":
    sys.exit(main())
