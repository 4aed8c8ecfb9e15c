"""What every search space offers (:class:`SearchSpace`), and the one random draw over its decisions.

A space is data: an ordered list of decisions ``(label, options)``. TPE's hyperopt space, random
search and the RL controller all read that list; a point is the chosen option per label, and
:meth:`SearchSpace.genotype` turns it into a genotype whose ``str`` round-trips through
:meth:`SearchSpace.parse`. Searchers record a point as choice *indices* (:func:`to_indices`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments, is_whole_number

__all__ = ["SearchSpace", "random_point", "check_point", "genotype_json", "to_indices", "from_indices", "layer_of", "skip_of"]

#: A decision ``l<i>/<name>`` belongs to network layer ``i`` (layer-wise spaces); ``l<i>/in<j>`` (options
#: ``[0, 1]``) says whether layer ``i`` reads earlier layer ``j``: Zoph & Le's anchor-point decisions, which the
#: RL controller predicts with its anchor attention (:mod:`neurosage.search.rl`).
_LAYER_LABEL = re.compile(r"^l(\d+)/")
_SKIP_LABEL = re.compile(r"^l(\d+)/in(\d+)$")


@runtime_checkable
class SearchSpace(Protocol):
    """The contract of a registered search space (``SPACES``); cell and layer-wise spaces implement it."""

    name: str
    #: ``"cell"`` (a cell repeated on a skeleton) or ``"layers"`` (one genotype layer per network layer).
    kind: Literal["cell", "layers"]
    #: blocks per cell of a cell space; None for spaces without cells (recorded in a run's settings)
    n_blocks: int | None

    def decisions(self) -> list[tuple[str, list[Any]]]:
        """Every choice of a genotype in one fixed order, ``(label, options)``."""

    def hyperopt_space(self) -> dict[str, Any]:
        """One ``hp.choice`` per decision with more than one option."""

    def genotype(self, point: dict[str, Any]) -> Any:
        """The genotype of a point (chosen option per label)."""

    def parse(self, text: str) -> Any:
        """A genotype from its string."""

    def sample(self, rng: np.random.Generator | int | None = None) -> Any:
        """A uniformly random genotype."""

    def size(self) -> int:
        """Number of distinct points."""


def random_point(decisions: list[tuple[str, list[Any]]], rng: np.random.Generator | int | None) -> dict[str, Any]:
    """One uniformly drawn option per decision, in order (every space's random sample draws its decisions this way)."""
    if hasattr(decisions, "decisions") and callable(decisions.decisions):  # the space itself given
        raise ConfigError("random_point takes a space's decisions (label, options) pairs, and was given the space", "pass space.decisions(), "
                          "or draw a point with space.sample(seed)", field="decisions")
    check_arguments(random_point, locals())
    if not (rng is None or isinstance(rng, np.random.Generator) or (is_whole_number(rng) and rng >= 0)):
        raise ConfigError(f"a space is sampled with a seed (a whole number >= 0) or a numpy Generator, got {rng!r}",
                          "pass e.g. space.sample(0), or space.sample(np.random.default_rng(0))", field="rng")
    odd = next((d for d in decisions if not (isinstance(d, (tuple, list)) and len(d) == 2 and isinstance(d[0], str))), None)
    if odd is not None:
        raise ConfigError(f"decisions holds {odd!r}, and each decision is a (label, options) pair", "give e.g. [('op', ['conv', 'pool'])] "
                          "(a space's decisions())", field="decisions")
    empty = [label for label, options in decisions if not len(options)]
    if empty:
        raise ConfigError(f"decision {empty[0]!r} has no options to draw from", "give every decision at least one option", field=empty[0])
    rng = np.random.default_rng(rng)
    return {label: options[int(rng.integers(len(options)))] for label, options in decisions}


def refuse_expressions(point: Mapping[str, Any]) -> None:
    """Refuse hyperopt's ``hp.choice`` nodes where a point's chosen options go (the space given for a point of it)."""
    if any(type(v).__name__ == "Apply" for v in point.values()):
        raise ConfigError("the point holds hyperopt expressions (hp.choice): it is the space's hyperopt_space(), not a point of it",
                          "draw a point: space.sample(seed), or hyperopt.pyll.stochastic.sample(space.hyperopt_space())", field="point")


def check_point(decisions: list[tuple[str, list[Any]]], point: Mapping[str, Any], *, extra: tuple[str, ...] = ()) -> None:
    """Refuse a point (the chosen option per decision label) that misses a decision with several options, names a label
    no decision has (``extra`` labels aside), or chooses an option the decision lacks; one check for every space's
    :meth:`SearchSpace.genotype`. A decision of one option may be left out (it takes that option)."""
    check_arguments(check_point, locals())
    refuse_expressions(point)
    options = dict(decisions)
    unknown = [label for label in point if label not in options and label not in extra]
    missing = [label for label, opts in decisions if len(opts) > 1 and label not in point]
    if unknown or missing:
        problem = "; ".join(part for part in (f"it names {len(unknown)} label(s) no decision has (e.g. {unknown[:2]})" if unknown else "",
                                              f"it lacks {len(missing)} decision(s) (e.g. {missing[:2]})" if missing else "") if part)
        raise ConfigError(f"the point does not fit the space: {problem}", f"give one option per label of space.decisions() (e.g. "
                          f"{decisions[0][0]!r}), or draw a point with space.sample(seed)", field="point")
    for label, value in point.items():
        if label in options and not any(value == o and type(value) is not bool for o in options[label]) and value not in options[label]:
            raise ConfigError(f"the point chooses {value!r} for {label!r}, which is not one of its options {options[label][:8]}",
                              f"choose one of the options of {label!r} (space.decisions())", field=label)


def genotype_json(text: str, kind: str) -> dict[str, Any]:
    """The dict a genotype's ``to_json()`` text holds, or one clear error naming what the text is instead."""
    check_arguments(genotype_json, locals())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        looks = " (it is a genotype's text form: read it with neurosage.parse_genotype(text))" \
            if text.strip().startswith(("normal:", "layers:")) else ""
        raise ConfigError(f"{kind}.from_json: the text is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}){looks}",
                          f"give the text {kind}.to_json() wrote, whole", field="text") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{kind}.from_json: the JSON holds a {type(data).__name__}, and a genotype's JSON holds an object",
                          f"give the text {kind}.to_json() wrote", field="text")
    return data


def to_indices(space: SearchSpace, point: dict[str, Any]) -> dict[str, int]:
    """The choice indices of a point of chosen options (labels with one option are left out)."""
    check_arguments(to_indices, locals())
    decisions = dict(space.decisions())
    _refuse_foreign(space, point, decisions)
    for label, value in point.items():
        if value not in decisions[label]:
            raise ConfigError(f"{value!r} is no option of decision {label!r} of space {space.name!r}", f"choose one of {decisions[label]}",
                              field=label)
    options = {label: opts for label, opts in decisions.items() if len(opts) > 1}
    missing = [label for label in options if label not in point]
    if missing:
        raise ConfigError(f"the point chooses no option for {len(missing)} decision(s) of space {space.name!r} (e.g. {missing[:3]})",
                          "give every decision its option (space.sample(rng) draws a whole point; a trial's vals hold one)", field="point")
    return {label: options[label].index(value) for label, value in point.items() if label in options}


def _refuse_foreign(space: SearchSpace, point: Mapping[str, Any], decisions: Mapping[str, Any]) -> None:
    """Refuse a point whose labels are not decisions of ``space`` (a point of another space)."""
    if not isinstance(point, Mapping):
        raise ConfigError(f"a point is a mapping of decision label -> value, got {type(point).__name__}", "pass e.g. a trial's vals dict",
                          field="point")
    unknown = [label for label in point if label not in decisions]
    if unknown:
        raise ConfigError(f"{unknown[:3]} {'is' if len(unknown) == 1 else 'are'} no decision of space {space.name!r} (a point of another "
                          "space?)", f"use its labels, e.g. {list(decisions)[:4]}", field="point")


def from_indices(space: SearchSpace, vals: dict[str, int]) -> dict[str, Any]:
    """The chosen options of a point of choice indices."""
    check_arguments(from_indices, locals())
    options = dict(space.decisions())
    _refuse_foreign(space, vals, options)
    missing = [label for label, opts in options.items() if len(opts) > 1 and label not in vals]
    if missing:
        raise ConfigError(f"the point of choice indices lacks {len(missing)} decision(s) of space {space.name!r} (e.g. {missing[:2]})",
                          "give one index per decision with several options (a trial's vals), e.g. to_indices(space, space_point)",
                          field="vals")
    for label, i in vals.items():
        whole_index = isinstance(i, (int, float, np.integer, np.floating)) and not isinstance(i, bool) and float(i).is_integer()
        if not whole_index or not 0 <= i < len(options[label]):
            raise ConfigError(f"index {i!r} of decision {label!r} is outside its {len(options[label])} options", f"give 0..{len(options[label]) - 1}",
                              field=label)
    return {label: options[label][int(i)] for label, i in vals.items()}


def layer_of(label: str) -> int | None:
    """The network layer a decision belongs to (``l3/filters`` -> 3), or None for a decision of no layer (cells)."""
    match = _LAYER_LABEL.match(label)
    return int(match.group(1)) if match else None


def skip_of(label: str) -> tuple[int, int] | None:
    """``(layer, earlier layer)`` of an anchor-point decision (``l3/in1`` -> ``(3, 1)``), else None."""
    match = _SKIP_LABEL.match(label)
    return (int(match.group(1)), int(match.group(2))) if match else None
