"""The teacher bench in one call: would this teacher have helped a search, and how much?

:func:`bench_teacher` scores a teacher (any kind) against a built pool beside its controls (the pixel RDM, the category
RDM, an untrained network of the teacher's architecture when it is a network), optionally beyond the pixels, and
answers with :class:`BenchResult`: every measure's correlation with the target and partial correlation given P, P +
alpha TG with alpha cross-validated, and the regret of a search's pick. ``neurosage bench POOL --teacher SPEC`` runs it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurosage.core.atomic import atomic_path, write_json
from neurosage.core.errors import ConfigError, RunFolderError
from neurosage.core.validate import check_arguments, choice
from neurosage.pool.pool import Pool
from neurosage.pool.scoring import score_teachers
from neurosage.pool.value import TARGETS, alpha_table, measure_table, selection_table, value_table
from neurosage.runs.outputs import claim_output_folder

__all__ = ["BENCH_OUTPUTS", "BenchResult", "bench_teacher", "teachers_with_controls"]

#: The files :meth:`BenchResult.save` writes (an output folder holding others is refused).
BENCH_OUTPUTS = frozenset({"scores.csv", "measures.csv", "value.csv", "alpha.csv", "selection.csv", "settings.json", "value.png"})

log = logging.getLogger(__name__)


@dataclass
class BenchResult:
    """A teacher's value on a pool: scores, the joined measures and the answers (tables), with what produced them."""

    scores: pd.DataFrame
    measures: pd.DataFrame
    value: pd.DataFrame
    alpha: pd.DataFrame
    selection: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def headline(self, teacher: str | None = None, step: int | None = None) -> pd.DataFrame:
        """The partial r given P of each endpoint and TG at ``step`` (default: the last stored step), of ``teacher`` (and its
        scores beyond a control) or, by default, of every teacher and control."""
        check_arguments(BenchResult.headline, locals())
        steps = sorted(int(s) for s in self.value.step.unique())
        step = steps[-1] if step is None else step
        if step not in steps:
            raise ConfigError(f"step {step} is not among the bench's steps {steps}", f"use one of {steps}", field="step")
        at = self.value[(self.value.step == step) & self.value.measure.str.match(r"^(S|TG):")]
        if teacher is not None:
            names = sorted({m.split(":")[1] for m in at.measure})
            mine = at.measure.str.match(rf"^(S|TG):{re.escape(teacher)}(:| beyond |$)")
            if not mine.any():
                raise ConfigError(f"no teacher {teacher!r} in the bench", f"use one of {names}", field="teacher")
            at = at[mine]
        return at[["measure", "n", "r", "r_low", "r_high", "partial_r", "partial_low", "partial_high", "partial_p"]].reset_index(drop=True)

    def save(self, out: str | Path) -> Path:
        """Write ``scores.csv``, ``measures.csv``, ``value.csv``, ``alpha.csv``, ``selection.csv``, ``settings.json`` and
        ``value.png`` (partial r given P per measure, with intervals) into ``out``."""
        check_arguments(BenchResult.save, locals())
        out = claim_output_folder(out, "neurosage bench", lambda name: name in BENCH_OUTPUTS)
        for name in ("scores", "measures", "value", "alpha", "selection"):
            with atomic_path(out / f"{name}.csv") as tmp:
                getattr(self, name).to_csv(tmp, index=False)
        write_json(out / "settings.json", self.settings)
        if len(self.value):
            self.plot(out / "value.png")
        return out

    def plot(self, path: str | Path, step: int | None = None) -> Path:
        """Partial r given P (with its 95% interval) of every teacher endpoint, TG, control and rival at ``step``."""
        check_arguments(BenchResult.plot, locals())
        from matplotlib.backend_bases import FigureCanvasBase
        from matplotlib.figure import Figure

        kinds = FigureCanvasBase.get_supported_filetypes()
        suffix = Path(path).suffix.lower().lstrip(".")
        if suffix not in kinds:  # savefig would write PNG bytes under any name
            raise ConfigError(f"the plot is an image, and {Path(path).name!r} has {'the suffix .' + suffix if suffix else 'no suffix'}",
                              f"name the file with an image suffix, e.g. {Path(path).with_suffix('.png')} (also {', '.join(sorted(kinds)[:6])}...)",
                              file=path, field="path")

        step = int(self.value.step.max()) if step is None else step
        rows = self.value[(self.value.step == step) & self.value.partial_r.notna()]
        rivals = self.value[(self.value.step == 0) & self.value.partial_r.notna() & ~self.value.measure.str.match(r"^(S|TG):")]
        rows = pd.concat([rows, rivals.assign(measure=rivals.measure + " (init)")]).reset_index(drop=True)
        fig = Figure(figsize=(7.5, 0.28 * len(rows) + 1.4), layout="constrained")
        ax = fig.subplots()
        y = np.arange(len(rows))[::-1]
        benched = str((self.settings.get("teachers") or ["teacher"])[0])
        colors = ["tab:blue" if m.startswith((f"S:{benched}:", f"TG:{benched}", f"S:{benched} beyond")) else "tab:gray" for m in rows.measure]
        ax.hlines(y, rows.partial_low, rows.partial_high, colors=colors)
        ax.scatter(rows.partial_r, y, c=colors, zorder=3, s=18)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, rows.measure, fontsize=7)
        target = str(self.settings.get("target", "target"))
        ax.set_xlabel(f"partial r with {target} given P (95% bootstrap interval)")
        ax.set_title(f"What each score adds to P at step {step} (blue: teacher, grey: controls and rivals)", fontsize=9)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=130, format=suffix)
        return Path(path)


def teachers_with_controls(teacher: Any, *, name: str = "teacher", spec: str | None = None, untrained_seeds: tuple[int, ...] = (0,),
                           device: str | None = None) -> dict[str, Any]:
    """``teacher`` and its controls on its stimuli: ``pixels``, ``category`` (when the stimuli are labelled) and, for a
    ``net:`` spec, ``untrained:<model>:seed<s>`` (the teacher's architecture with random weights). A teacher named like
    a control is refused."""
    check_arguments(teachers_with_controls, locals())
    from neurosage.teachers.controls import controls_for
    from neurosage.teachers.teacher import Teacher

    if not isinstance(teacher, Teacher):
        raise ConfigError(f"teachers_with_controls takes a Teacher, got {type(teacher).__name__}", "build one with teacher_from_spec, "
                          "brain_teacher or network_teacher", field="teacher")

    if spec:  # the teacher's spec names a teacher ('control:pixel' names none)
        from neurosage.teachers.kinds import check_teacher_kinds

        check_teacher_kinds(spec)
    controls = controls_for(spec or "", teacher.images, seeds=untrained_seeds, device=device, rdm_method=teacher.rdm_method,
                            compare_method=teacher.compare_method)
    if name in controls:
        raise ConfigError(f"the teacher name {name!r} is the name of a control the bench adds", "name your teacher otherwise, or pass "
                          "controls=False", field="teacher")
    return {name: teacher, **controls}


def _same_rdms(a: Any, b: Any) -> bool:
    """Whether two teachers hold the same endpoint RDMs (values; names aside) on the same stimuli."""
    x, y = a.rdms.values, b.rdms.values
    return x.shape == y.shape and list(a.stimulus_ids) == list(b.stimulus_ids) and bool(np.allclose(x, y, equal_nan=True))


def bench_teacher(
    pool: Pool | str | Path, teachers: Mapping[str, Any] | Any, *, controls: bool = True, spec: str | None = None, beyond_pixels: bool = True,
    target: str = "M_short", n_bootstrap: int = 2000, pool_size: int = 16, seed: int = 0, device: str | None = None, progress: bool = True,
) -> BenchResult:
    """Score ``teachers`` (one :class:`~neurosage.teachers.teacher.Teacher` or name -> teacher) against ``pool`` and say
    what they add to P.

    Parameters
    ----------
    controls
        Add the pixel, category and (with a ``net:`` ``spec``) untrained-network controls on the first teacher's stimuli.
    beyond_pixels
        Also score each teacher beyond the pixel RDM (partial RDM correlation given the pixels).
    target
        ``M_short`` (the protocol's end), ``M_short_2`` or ``M_long`` (where the pool has it).
    pool_size
        Architectures per simulated search (random sub-pools of the pool).
    """
    from neurosage.teachers.teacher import Teacher
    from neurosage.training.devices import check_device

    t0 = time.perf_counter()
    check_arguments(bench_teacher, locals())
    choice(target, "target", TARGETS)  # a misspelt target, named before the pool's own limits
    check_device(device)
    for name, value, low in (("n_bootstrap", n_bootstrap, 10), ("seed", seed, 0), ("pool_size", pool_size, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name.replace('_', '-')} must be an integer of at least {low}, got {value!r}", f"give {name.replace('_', '-')} "
                              f">= {low}", field=name)
    named = dict(teachers) if isinstance(teachers, Mapping) else {"teacher": teachers}
    if not named:
        raise ConfigError("no teacher to bench", "give a teacher", field="teacher")
    unnamed = [n for n in named if not isinstance(n, str) or not n.strip() or n != n.strip()]
    if unnamed:  # the name heads the tables' columns (TG:<name>, S:<name>:<endpoint>)
        raise ConfigError(f"teacher name {unnamed[0]!r} is not a name (the tables' columns are named TG:<name>)", "key each teacher by a "
                          "short non-empty text, e.g. {'resnet': teacher}", field="teacher")
    wrong = [n for n, t in named.items() if not isinstance(t, Teacher)]
    if wrong:
        raise ConfigError(f"{wrong[0]!r} is a {type(named[wrong[0]]).__name__}, not a Teacher", "give Teacher objects (teacher_from_spec, "
                          "brain_teacher, network_teacher), e.g. {'mine': teacher}", field="teacher")
    pool = pool if isinstance(pool, Pool) else Pool(pool)
    architectures = pool.architectures()
    trained = int(architectures.status.eq("ok").sum())
    if trained < 5:
        raise ConfigError(f"the pool has {trained} trained architecture(s); a bench needs at least 5 (its correlations and intervals)",
                          "build a larger pool (n-architectures), or finish building this one", file=pool.folder.path, field="pool")
    if pool_size >= trained:
        raise ConfigError(f"pool-size {pool_size} is {'more than' if pool_size > trained else 'all of'} the pool's {trained} trained "
                          "architectures: every simulated search would see the whole pool, so the selection table's intervals would have "
                          "no width", f"give a pool-size of at most {trained - 1} (a quarter of the pool or less says more)", field="pool_size")
    if target not in architectures or architectures[target].notna().sum() < 5:
        have = [t for t in ("M_short", "M_short_2", "M_long") if t in architectures and architectures[t].notna().sum() >= 5]
        if not have:
            raise RunFolderError(f"the pool's architectures.csv has no target column with 5 values (M_short, M_short_2, M_long; it has "
                                 f"{list(architectures.columns)[:12]}): it was edited or cut short", "delete architectures.csv and build the "
                                 "pool again with the same settings: it rewrites the table from the per-architecture records",
                                 file=pool.folder.pool_architectures, field="target")
        raise ConfigError(f"the pool has fewer than 5 values of {target!r}", f"use one of {have}, or a pool built with that target",
                          field="target")
    first_name, first = next(iter(named.items()))
    control_names: set[str] = set()
    if controls:
        added = teachers_with_controls(first, name=first_name, spec=spec, device=device)
        control_names = set(added) - {first_name}  # the first teacher's own name was checked against the controls' there
        clash = sorted(control_names & set(named))
        if clash:
            raise ConfigError(f"the teacher name {clash[0]!r} is the name of a control the bench adds", "name your teacher otherwise, or "
                              "pass controls=False", field="teacher")
        named.update({k: v for k, v in added.items() if k != first_name})
        for name in [n for n in named if n not in control_names]:  # a teacher that is a control: its value beyond it is 0 by construction
            twin = next((c for c in sorted(control_names) if _same_rdms(named[name], named[c])), None)
            if twin is not None:
                raise ConfigError(f"the teacher {name!r} has the same RDMs as the control {twin!r} the bench adds beside it"
                                  + (f" (its spec {spec!r} is that control)" if spec and name == first_name else "")
                                  + ": its scores would be the control's twice, and its value beyond the control 0 by construction",
                                  "bench the control alone as the teacher with --no-controls (controls=False), or give another teacher",
                                  field="teacher")
    beyond = {n: named["pixels"] for n in named if beyond_pixels and "pixels" in control_names and n not in control_names}
    scores = score_teachers(pool, named, beyond=beyond, device=device, progress=progress)
    measures = measure_table(architectures, pool.checkpoints(), scores)
    value = value_table(measures, target=target, n_bootstrap=n_bootstrap, seed=seed)
    alpha = alpha_table(measures, target=target, n_bootstrap=n_bootstrap, seed=seed)
    last = int(measures.step.max())
    cv = {row.measure: float(row.alpha_all) for row in alpha[alpha.step == last].itertuples()} if len(alpha) else {}
    n = int(measures[(measures.step == last) & measures[target].notna()].arch.nunique())
    selection = selection_table(measures, target=target, pool_size=pool_size, seed=seed, alphas=cv)
    settings = {"pool": str(pool.folder.path), "teachers": list(named), "beyond": {k: "pixels" for k in beyond}, "target": target,
                "n_bootstrap": n_bootstrap, "pool_size": pool_size, "seed": seed, "spec": spec, "seconds": time.perf_counter() - t0}
    log.info("teacher bench: %d teachers on %d architectures in %.0f s", len(named), n, settings["seconds"])
    return BenchResult(scores, measures, value, alpha, selection, settings)
