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
from neurosage.core.errors import ConfigError
from neurosage.runs.folder import RunFolder

__all__ = ["check_keep_weights", "weights_to_keep", "state_bytes", "input_conversion", "KeptWeights"]

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
