"""The weights of a search's top trials: ``<run>/weights/trial-<tid>.pt`` while a trial ranks among the best K.

Workers return a trial's ``state_dict`` (as ``torch.save`` bytes, after P and TG were measured, so the
BatchNorm statistics are the recalibrated ones the scores saw) only when it can still make the top K: its
score reaches the K-th best score known when it was submitted, which can only rise. The driver alone
writes the files, so workers on other hosts need no access to the run folder. The ranking is by score,
ties to the earlier trial, so the kept trials do not depend on the order in which trials finish (the
executor). ``run.json`` records them under ``"weights"``, with what rebuilds their network: the network
options, the number of classes and the input (shape and conversion of the candidates' images).
Each file is a plain ``state_dict`` (``neurosage rdm GENOTYPE --weights FILE`` loads it).
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from neurosage.core.atomic import atomic_path
from neurosage.core.errors import ConfigError, RunFolderError, WeightsMismatch
from neurosage.core.validate import check_arguments, is_whole_number
from neurosage.runs.folder import RunFolder

__all__ = ["check_keep_weights", "weights_to_keep", "state_bytes", "input_conversion", "KeptWeights", "kept_trial", "input_settings",
           "kept_network"]

log = logging.getLogger(__name__)


def check_keep_weights(keep: object) -> None:
    """Refuse a ``keep_weights`` that is not a count >= 0 (None is resolved by :func:`weights_to_keep` first)."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ConfigError(f"keep-weights must be a number of trials >= 0, got {keep!r}",
                          "give e.g. 1 (the best trial), 3, or 0 to keep none", field="keep_weights")


def weights_to_keep(keep_weights: int | None, top_k: int | None = None) -> int:
    """K: ``keep_weights``, or when None the top-k the analysis retrains (``top_k``; 1, the best, for a plain search)."""
    keep = keep_weights if keep_weights is not None else (top_k if top_k is not None else 1)
    check_keep_weights(keep)
    return keep


def state_bytes(net: Any) -> bytes:
    """``net``'s ``state_dict`` as ``torch.save`` bytes (every tensor on the CPU, contiguous)."""
    import torch

    state = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def input_conversion(data: Any) -> dict[str, Any]:
    """How the candidates' images were converted (``channels``, ``size``, ``mean``, ``std`` of an image set), or {}."""
    conversion = getattr(data, "conversion", None)
    return dict(conversion) if isinstance(conversion, Mapping) else {}


class KeptWeights:
    """The driver's record of the top-``keep`` trials and their weight files.

    Parameters
    ----------
    run_dir
        The search's run folder (its weights folder holds the files).
    keep
        K, the number of trials whose weights are kept (0: none).
    model
        What rebuilds a trial's network (network options, classes, input), recorded beside the files.
    """

    def __init__(self, run_dir: str | Path | RunFolder, keep: int, model: Mapping[str, Any] | None = None):
        check_keep_weights(keep)
        self.folder, self.keep = RunFolder(run_dir), keep
        self.model = dict(model or {})
        self.kept: dict[int, dict[str, Any]] = {}

    def _rank(self, tid: int) -> tuple[float, int]:
        return -self.kept[tid]["score"], tid

    def floor(self) -> float | None:
        """The score a trial must reach to be kept: None when nothing is kept (K = 0), -inf while fewer than K are."""
        if self.keep == 0:
            return None
        if len(self.kept) < self.keep:
            return -math.inf
        return min(entry["score"] for entry in self.kept.values())

    def restore(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Take over the files of an earlier session: those of finished, scored trials (from the journal's records)
        are kept, best K first; files of other trials (a proposal cut short before its journal row) are removed."""
        scored = {int(r["tid"]): r for r in records if r.get("status") == "ok" and r.get("score") is not None and "tid" in r}
        for tid, path in self.folder.weight_files().items():
            if tid in scored:
                self.kept[tid] = self._entry(tid, scored[tid])
            else:
                log.info("removing %s: its trial has no finished record", path)
                path.unlink(missing_ok=True)
        self._prune()

    def offer(self, tid: int, record: Mapping[str, Any], blob: bytes | None) -> bool:
        """Keep trial ``tid``'s weights when it ranks among the best K; a trial that falls out loses its file.
        Returns whether the trial's weights were written."""
        if self.keep == 0 or blob is None or record.get("status") != "ok" or record.get("score") is None:
            return False
        entry = self._entry(tid, record)
        ranked = sorted([(-e["score"], t) for t, e in self.kept.items()] + [(-entry["score"], tid)])
        if (-entry["score"], tid) not in ranked[: self.keep]:
            return False
        with atomic_path(self.folder.file(entry["file"])) as tmp:
            tmp.write_bytes(blob)
        self.kept[tid] = entry
        self._prune()
        return tid in self.kept

    def _prune(self) -> None:
        for tid in sorted(self.kept, key=self._rank)[self.keep:]:
            self.folder.file(self.kept.pop(tid)["file"]).unlink(missing_ok=True)

    def _entry(self, tid: int, record: Mapping[str, Any]) -> dict[str, Any]:
        entry = {"trial": tid, "file": self.folder.weight_file(tid).relative_to(self.folder.path).as_posix(), "score": float(record["score"]),
                 "genotype": record.get("genotype")}
        if record.get("best_layer"):
            entry["best_layer"] = dict(record["best_layer"])
        return entry

    def summary(self) -> dict[str, Any]:
        """The ``"weights"`` entry of ``run.json``: K, the kept trials (best first) and what rebuilds their network."""
        return {"keep": self.keep, "trials": [self.kept[t] for t in sorted(self.kept, key=self._rank)], **self.model}


# ---------------------------------------------------------------------------------------------- a kept trial, read back

def kept_trial(run_dir: str | Path | RunFolder, trial: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The journal record of one of a search's kept trials and its ``run.json`` weights entry (with ``path``, the file).

    ``trial`` is a trial id; default the best finished trial by the search's objective. A folder that is not a search's, a
    search that kept no weights, a trial that did not finish or whose weights were not kept, a missing file: refused,
    naming the file and the trials that can be given.
    """
    folder = RunFolder(run_dir)
    if folder.path.is_dir():
        folder.refuse_no_search(error=ConfigError, architectures=True)
    record = folder.require_record()
    kept = record.get("weights") or {}
    recorded = {int(e["trial"]): e for e in kept.get("trials", [])}
    entries = {tid: e for tid, e in recorded.items() if folder.file(e["file"]).is_file()}  # the files still there

    def refuse_missing(tid: int) -> None:  # a kept trial whose file is gone: a renamed file is named, with the line that restores it
        expected = folder.file(recorded[tid]["file"])
        known = {folder.file(e["file"]).name for e in recorded.values()}
        strays = sorted(p.name for p in folder.weights_dir.iterdir() if p.is_file() and p.name not in known) if folder.weights_dir.is_dir() else []
        raise ConfigError(f"trial {tid}'s kept weights file {expected.name} is missing" + (f"; {folder.weights_dir} holds {strays[:3]}" if strays
                          else ""), (f"give the file its recorded name back (mv {folder.weights_dir / strays[0]} {expected}) if it is trial "
                          f"{tid}'s" if strays else f"restore {expected.parent.name}/ from a copy") + f", or give another kept trial "
                          f"({sorted(set(entries) - {tid})})", file=expected, field="trial")

    if not entries and kept.get("trials"):
        names = [str(e.get("file", "")).rsplit("/", 1)[-1] for e in kept["trials"]]
        others = sorted(p.name for p in folder.weights_dir.iterdir() if p.is_file()) if folder.weights_dir.is_dir() else []
        if others:  # a kept file renamed (or another file put there): say which, and its recorded name
            raise ConfigError(f"none of the kept trials' weight files remains in {folder.weights_dir} under its recorded name ({', '.join(names)}); "
                              f"the folder holds {others[:3]}", f"give the file its recorded name back (e.g. mv {folder.weights_dir / others[0]} "
                              f"{folder.weights_dir / names[0]}) if it is that trial's", file=folder.weights_dir, field="trial")
        raise ConfigError(f"none of the kept trials' weight files remains in {folder.path / 'weights'}",
                          "restore weights/ from a copy, or continue the search with neurosage search RUN --resume --keep-weights N (it keeps "
                          "the weights of the trials it runs)", file=folder.path / "weights", field="trial")
    if not entries:
        why = f"keep-weights = {kept['keep']}" if "keep" in kept else "it ran before neurosage kept weights"
        raise ConfigError(f"this search kept no trial weights ({why})",
                          "start a new search with --keep-weights K (resuming keeps weights only of the trials it runs, not of finished ones)",
                          file=folder.provenance_file, field="keep_weights")
    journal = folder.journal_file
    rows = {row["tid"]: {**row["record"], "tid": row["tid"]} for row in folder.journal().rows()}
    if trial is None:
        ok = [r for r in rows.values() if r.get("status") == "ok" and r.get("score") is not None]
        if not ok:
            raise ConfigError("the search has no finished, scored trial", "wait until a trial has finished", file=journal, field="trial")
        trial = min(ok, key=lambda r: (-r["score"], r["tid"]))["tid"]
        if trial in recorded and trial not in entries:
            refuse_missing(trial)
        if trial not in entries:
            raise ConfigError(f"the best trial ({trial}) has no kept weights", f"give a kept one: --trial N, trial=N in Python (kept: "
                              f"{sorted(entries)})",
                              file=folder.provenance_file, field="trial")
    elif not is_whole_number(trial):
        raise ConfigError(f"trial must be a trial id (an int), got {trial!r}", f"give one of the kept trials: {sorted(entries)}", field="trial")
    elif (trial := int(trial)) not in rows:
        raise ConfigError(f"trial {trial} is not a finished trial of this search (it has {len(rows)}: "
                          f"{_span(sorted(rows))})", f"give one of the kept trials: {sorted(entries)}", file=journal, field="trial")
    elif trial in recorded and trial not in entries:
        refuse_missing(trial)
    elif trial not in entries:
        raise ConfigError(f"trial {trial}'s weights were not kept (the search keeps the best {kept.get('keep')}: trials {sorted(entries)})",
                          "give one of those (--trial N; trial=N in Python), or run the search with a larger --keep-weights",
                          file=folder.provenance_file,
                          field="trial")
    weights = folder.file(entries[trial]["file"])
    return rows.get(trial, {**entries[trial], "tid": trial}), {**entries[trial], "path": weights}


def _span(tids: list[int]) -> str:
    return "none" if not tids else f"{tids[0]}..{tids[-1]}" if tids == list(range(tids[0], tids[-1] + 1)) else str(tids)


def input_settings(run_dir: str | Path | RunFolder, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """Channels, side, mean and std of a search's candidates' input, from ``run.json`` (what rebuilds their conversion;
    ``record``: the run record when the caller has read it already)."""
    folder = RunFolder(run_dir)
    kept = (record if record is not None else folder.require_record()).get("weights") or {}
    shape = kept.get("input_shape")
    if not shape or len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(f"the run records no square input shape for its candidates (got {shape!r})",
                          "use a search whose run.json has weights.input_shape (C, H, W) with H = W", file=folder.provenance_file,
                          field="input_shape")
    conversion = kept.get("input") or {}
    return {"channels": int(shape[0]), "size": int(shape[1]), "mean": conversion.get("mean"), "std": conversion.get("std")}


def kept_network(run_dir: str | Path | RunFolder, trial: int | None = None) -> Any:
    """One of a search's kept trials as the network the search trained, in eval mode, with its kept weights.

    Built exactly as the search built it (its network options from ``run.json``: cells per stack, filters, skeleton...),
    so ``neurosage rdm RUN --trial N`` and :func:`~neurosage.analyses.model_comparison.compare_model` see what the search
    scored. The module carries ``neurosage_name`` (``<run> trial <N>``), ``neurosage_weights`` (their description) and
    ``neurosage_weights_file``,
    ``neurosage_preprocessing`` (the candidates' input conversion: channels, side, mean, std, which
    :func:`~neurosage.nets.models.model_inputs` applies to stimuli), ``neurosage_layers`` (its endpoints but the stem
    and the pooling), ``neurosage_rdm`` (how the search made the candidates' RDMs: feature subsampling) and
    ``neurosage_trial`` (the trial's journal record: genotype, seed, score, P, TG, S, best layers).
    """
    check_arguments(kept_network, locals())
    import torch

    from neurosage.nets.build import build_network
    from neurosage.nets.inputs import guard_inputs
    from neurosage.nets.models import load_weights

    folder = RunFolder(run_dir)
    chosen, entry = kept_trial(folder, trial)
    record = folder.require_record()  # read once: the network, the input and the RDM settings all come from it
    kept = record["weights"]
    settings = input_settings(folder, record)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = build_network(str(chosen["genotype"]), num_classes=int(kept["num_classes"]), in_channels=settings["channels"],
                            **dict(kept.get("network") or {}))
    try:
        load_weights(net, entry["path"])
    except WeightsMismatch as exc:  # the file the search kept for this trial no longer fits the trial's own network
        raise RunFolderError(f"trial {chosen['tid']}'s kept weights do not fit the network of its genotype, which the search built them "
                             f"for: the file was replaced or changed after the search kept it (another trial's weights?) ({exc.problem})",
                             "restore the run folder's weights/ from a copy, or search again into a new folder keeping them "
                             "(neurosage search NEW_RUN --keep-weights N)",
                             file=entry["path"], field="weights") from None
    conversion = {k: v for k, v in settings.items() if v is not None}
    chosen = {**chosen, "best_layer": chosen.get("best_layer") or entry.get("best_layer")}
    name = f"{folder.path.resolve().name} trial {chosen['tid']}"
    for key, value in {"name": name, "weights": f"weights from {entry['path']}",
                       "weights_file": entry["path"], "rdm": dict(record.get("settings", {}).get("candidate_rdm") or {}),
                       "preprocessing": conversion, "layers": [e for e in net.endpoints if e not in ("stem", "pool")],
                       "trial": chosen}.items():
        setattr(net, f"neurosage_{key}", value)
    return guard_inputs(net.eval(), name)
