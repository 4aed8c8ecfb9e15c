"""The cell search space: genotypes as data, and the hyperopt space derived from them.

A cell has B blocks. Block ``b`` takes two inputs among the states
``0 .. b+1`` and applies one op to each, then combines them (add, or concat).
State indices follow TF-slim: ``0`` is the previous cell's output (h_i),
``1`` the one before it (h_{i-1}), ``2 + b`` the output of block ``b``.

The cell output concatenates the states in ``concat``: for the PNAS space all
blocks, for the NASNet space the blocks no other block uses ("loose ends").
NASNet-style spaces search a normal and a reduction cell; PNAS uses one cell
at stride 1 or 2.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments, check_choices, check_fields, is_whole_number
from neurosage.spaces import SPACES
from neurosage.spaces.contract import check_point, genotype_json, random_point, refuse_expressions
from neurosage.spaces.primitives import OP_SETS

__all__ = ["Combiner", "Block", "Cell", "Genotype", "output_states", "CellSpace", "NASNET_A", "PNASNET_5", "register_spaces"]


Combiner = Literal["add", "concat"]


_COMBINER_SYMBOL = {"add": "+", "concat": "&"}


@dataclass(frozen=True)
class Block:
    """Two (op, input) pairs and how their outputs combine."""

    inputs: tuple[int, int]
    ops: tuple[str, str]
    combiner: Combiner = "add"

    def __str__(self) -> str:
        (a, b), (x, y) = self.ops, self.inputs
        return f"{a}@{x} {_COMBINER_SYMBOL[self.combiner]} {b}@{y}"

    def __post_init__(self) -> None:
        check_fields(self)
        if len(self.inputs) != 2 or len(self.ops) != 2:
            raise ConfigError(f"a block has two (op, input) pairs, got inputs {tuple(self.inputs)} and ops {tuple(self.ops)}",
                              "give two of each, e.g. Block(inputs=(0, 1), ops=('max_pool_3x3', 'skip_connect'))", field="genotype")
        check_choices(Block, {"combiner": self.combiner})


@dataclass(frozen=True)
class Cell:
    """Blocks plus the states concatenated into the cell output."""

    blocks: tuple[Block, ...]
    concat: tuple[int, ...]

    def __post_init__(self) -> None:
        check_fields(self)
        if not self.blocks:
            raise ConfigError("a cell has no block", "give at least one Block, e.g. Cell(blocks=(Block((0, 1), ('max_pool_3x3', "
                              "'skip_connect')),), concat=(2,))", field="genotype")
        for b, block in enumerate(self.blocks):
            for i in block.inputs:
                if not 0 <= i < b + 2:
                    raise ConfigError(f"block {b} input {i} is invalid", f"block {b} may use states 0..{b + 1}", field="genotype")
        n_states = len(self.blocks) + 2
        if not self.concat or any(not 0 <= s < n_states for s in self.concat):
            raise ConfigError(f"concat {self.concat} names a state that does not exist", f"name states in 0..{n_states - 1}", field="genotype")
        if len(set(self.concat)) < len(self.concat):  # a state concatenated twice doubles its channels for nothing
            raise ConfigError(f"concat {list(self.concat)} names a state more than once", f"name each state once, e.g. concat "
                              f"{','.join(map(str, dict.fromkeys(self.concat)))}", field="genotype")
        used = {i for block in self.blocks for i in block.inputs} | set(self.concat)
        dead = [b + 2 for b in range(len(self.blocks)) if b + 2 not in used]
        if dead:  # a block whose output reaches nothing: trained for nothing, and the cell is not the one meant (an off-by-one?)
            concat = ",".join(map(str, sorted(set(self.concat) - {0, 1} | set(dead))))
            raise ConfigError(f"the output of block(s) {[s - 2 for s in dead]} (state(s) {dead}) feeds no later block and is not in concat "
                              f"{list(self.concat)}", f"concat the unused states, e.g. concat {concat} (states 0 and 1 are the cell's "
                              "inputs; block b's output is state b + 2)", field="genotype")

    def __str__(self) -> str:
        blocks = " | ".join(str(b) for b in self.blocks)
        return f"{blocks} -> concat {','.join(map(str, self.concat))}"

    @classmethod
    def parse(cls, text: str) -> Cell:
        """Inverse of ``str(cell)``."""
        check_arguments(Cell.parse, locals())
        body, _, concat = text.partition("-> concat")
        blocks = []
        for part in body.split("|"):
            m = re.fullmatch(r"\s*(\w+)@(\d+)\s*([+&])\s*(\w+)@(\d+)\s*", part)
            if not m:
                raise ConfigError(f"cannot parse block {part!r}", "write blocks as 'op@input + op@input' (or '&' to concatenate), separated by '|'",
                                  field="genotype")
            combiner: Combiner = "add" if m.group(3) == "+" else "concat"
            blocks.append(Block((int(m.group(2)), int(m.group(5))), (m.group(1), m.group(4)), combiner))
        try:
            states = tuple(int(s) for s in concat.split(","))
        except ValueError:  # 'concat 2; reduce: ...' (no space before ';'), or a cell on the next line
            raise ConfigError(f"cannot read concat {concat.strip()!r} as state numbers", "write concat as numbers separated by commas, and "
                              "separate the cells by ' ; ' on one line: 'normal: ... -> concat 2 ; reduce: ... -> concat 2'",
                              field="genotype") from None
        return cls(tuple(blocks), states)


@dataclass(frozen=True)
class Genotype:
    """An architecture as data: a normal cell and (optionally) a separate reduction cell.

    With ``reduce=None`` the normal cell is used at stride 2 for reductions (PNAS).
    """

    normal: Cell
    reduce: Cell | None = None

    @property
    def n_blocks(self) -> int:
        return len(self.normal.blocks)

    def __str__(self) -> str:
        text = f"normal: {self.normal}"
        return text + (f" ; reduce: {self.reduce}" if self.reduce is not None else "")

    @classmethod
    def parse(cls, text: str) -> Genotype:
        """Inverse of ``str(genotype)``."""
        check_arguments(Genotype.parse, locals())
        pieces = [p.strip().split(":", 1) for p in text.split(" ; ")]
        if any(len(piece) != 2 for piece in pieces):
            raise ConfigError(f"cannot parse genotype {text!r}", "write 'normal: <blocks> -> concat <states>' (see str(PNASNET_5))", field="genotype")
        parts = {k.strip(): v for k, v in pieces}
        if "normal" not in parts:
            raise ConfigError(f"genotype string needs a 'normal:' part, got {text!r}",
                              "write 'normal: <blocks> -> concat <states>' (see str(PNASNET_5))", field="genotype")
        reduce = Cell.parse(parts["reduce"]) if "reduce" in parts else None
        return cls(Cell.parse(parts["normal"]), reduce)

    def to_dict(self) -> dict[str, Any]:
        def cell(c: Cell) -> dict[str, Any]:
            return {
                "blocks": [{"inputs": list(b.inputs), "ops": list(b.ops), "combiner": b.combiner} for b in c.blocks],
                "concat": list(c.concat),
            }

        return {"normal": cell(self.normal), "reduce": cell(self.reduce) if self.reduce else None}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Genotype:
        """Inverse of :meth:`to_dict`: ``{"normal": {"blocks": [...], "concat": [...]}, "reduce": {...} or None}``."""
        check_arguments(Genotype.from_dict, locals())
        shape = "{'normal': {'blocks': [{'inputs': [0, 1], 'ops': [...], 'combiner': 'add'}, ...], 'concat': [...]}, 'reduce': ... or None}"
        if "normal" not in data:
            inner = " (it is one cell's dict: wrap it as {'normal': d})" if "blocks" in data else ""
            raise ConfigError(f"a genotype dict needs a 'normal' cell, got the keys {sorted(map(str, data))}{inner}",
                              f"give Genotype.to_dict()'s form, {shape}", field="normal")

        def cell(kind: str, d: Any) -> Cell:
            if isinstance(d, str):
                raise ConfigError(f"the genotype dict's {kind!r} cell is the text {d[:40]!r}, and it takes a dict",
                                  "parse the text form with neurosage.parse_genotype('normal: ... -> concat ...'), or give "
                                  f"to_dict()'s form, {shape}", field=kind)
            try:
                blocks = tuple(Block(tuple(b["inputs"]), tuple(b["ops"]), b.get("combiner", "add")) for b in d["blocks"])
                return Cell(blocks, tuple(d["concat"]))
            except (KeyError, TypeError, AttributeError) as exc:
                raise ConfigError(f"the genotype dict's {kind!r} cell is not a cell dict ({type(exc).__name__}: {exc})",
                                  f"give to_dict()'s form, {shape}", field=kind) from None

        return cls(cell("normal", data["normal"]), cell("reduce", data["reduce"]) if data.get("reduce") else None)

    @classmethod
    def from_json(cls, text: str) -> Genotype:
        """Inverse of :meth:`to_json`."""
        check_arguments(Genotype.from_json, locals())
        return cls.from_dict(genotype_json(text, "Genotype"))

    @classmethod
    def from_hyperopt(cls, point: dict[str, Any]) -> Genotype:
        """Build a genotype from a point of :meth:`CellSpace.hyperopt_space` (after ``space_eval``)."""
        check_arguments(Genotype.from_hyperopt, locals())
        refuse_expressions(point)
        if not any(str(k).startswith("normal/b") for k in point) or "output" not in point:
            raise ConfigError(f"a hyperopt point of a cell space holds 'output' and the 'normal/b<i>/...' decisions, got the keys "
                              f"{sorted(map(str, point))[:4]}", "use space.genotype(point) with a point of that space (space.sample(seed) "
                              "draws one)", field="point")
        output = point["output"]
        cells = {}
        for kind in ("normal", "reduce"):
            n = sum(1 for k in point if k.startswith(f"{kind}/b") and k.endswith("/op0"))
            if not n:
                continue
            lacking = [f"{kind}/b{b}/{d}" for b in range(n) for d in ("in0", "in1", "op0", "op1") if f"{kind}/b{b}/{d}" not in point]
            if lacking:
                raise ConfigError(f"the hyperopt point lacks {lacking[:3]}", "give every decision of the space (space.decisions())", field="point")
            blocks = tuple(
                Block(
                    tuple(_whole(point[f"{kind}/b{b}/in{i}"]) for i in (0, 1)),
                    (point[f"{kind}/b{b}/op0"], point[f"{kind}/b{b}/op1"]),
                    point.get(f"{kind}/b{b}/combiner", "add"),
                )
                for b in range(n)
            )
            cells[kind] = Cell(blocks, output_states(blocks, output))
        return cls(cells["normal"], cells.get("reduce"))

    def __post_init__(self) -> None:
        check_fields(self)


def _whole(value: Any) -> Any:
    """A whole number as a Python int (numpy's would not serialise), anything else as it is (for :class:`Block` to refuse)."""
    return int(value) if is_whole_number(value) else value


def output_states(blocks: tuple[Block, ...], output: str) -> tuple[int, ...]:
    """States concatenated into the cell output: ``all_blocks`` or ``loose_ends``."""
    block_states = range(2, len(blocks) + 2)
    if output == "all_blocks":
        return tuple(block_states)
    if output == "loose_ends":
        used = {i for b in blocks for i in b.inputs}
        return tuple(s for s in block_states if s not in used)
    raise ConfigError(f"unknown output rule {output!r}", "use 'all_blocks' or 'loose_ends'", field="output")


@dataclass(frozen=True)
class CellSpace:
    """A cell search space: op set, number of blocks, combiners, output rule."""

    name: str
    ops: tuple[str, ...]
    n_blocks: int = 5
    separate_reduction: bool = True
    combiners: tuple[Combiner, ...] = ("add",)
    output: str = "loose_ends"
    cell_kinds: tuple[str, ...] = field(init=False)
    kind = "cell"

    def __post_init__(self) -> None:
        check_fields(self)
        if isinstance(self.n_blocks, bool) or not isinstance(self.n_blocks, int) or self.n_blocks < 1:
            raise ConfigError(f"n_blocks must be a positive integer, got {self.n_blocks!r}", "set n-blocks to 1 or more", field="n_blocks")
        object.__setattr__(self, "cell_kinds", ("normal", "reduce") if self.separate_reduction else ("normal",))

    def decisions(self) -> list[tuple[str, list[Any]]]:
        """Every choice of a genotype, in one fixed order: ``(label, options)`` per (cell, block) input, op
        and combiner. The hyperopt space, random sampling and the RL controller all read this list."""
        out: list[tuple[str, list[Any]]] = []
        for kind in self.cell_kinds:
            for b in range(self.n_blocks):
                for slot in (0, 1):
                    out.append((f"{kind}/b{b}/in{slot}", list(range(b + 2))))
                    out.append((f"{kind}/b{b}/op{slot}", list(self.ops)))
                out.append((f"{kind}/b{b}/combiner", list(self.combiners)))
        return out

    def hyperopt_space(self) -> dict[str, Any]:
        """One ``hp.choice`` per decision with more than one option (a single combiner is fixed)."""
        from hyperopt import hp

        space: dict[str, Any] = {"output": self.output}
        space.update({label: hp.choice(label, options) for label, options in self.decisions() if len(options) > 1})
        return space

    def genotype(self, point: dict[str, Any]) -> Genotype:
        """The genotype of a point of :meth:`hyperopt_space` (after ``space_eval``)."""
        check_arguments(CellSpace.genotype, locals())
        check_point(self.decisions(), point, extra=("output",))
        return Genotype.from_hyperopt({"output": self.output, **point})

    def parse(self, text: str) -> Genotype:
        check_arguments(CellSpace.parse, locals())
        genotype = Genotype.parse(text)
        cells = [genotype.normal] + ([genotype.reduce] if genotype.reduce is not None else [])
        foreign = sorted({op for c in cells for b in c.blocks for op in b.ops if op not in self.ops})
        if foreign:  # a genotype of another space's ops is no point of this space
            raise ConfigError(f"the genotype uses op(s) {foreign} that the {self.name!r} space does not have (its ops: {list(self.ops)})",
                              "use this space's ops, or parse it with neurosage.parse_genotype(text) (any op) or the space it comes from",
                              field="genotype")
        return genotype

    def sample(self, rng: np.random.Generator | int | None = None) -> Genotype:
        """A uniformly random genotype (the random-search baseline)."""
        check_arguments(CellSpace.sample, locals())
        return self.genotype(random_point(self.decisions(), rng))

    def size(self) -> int:
        """Number of distinct points in the space (before symmetries)."""
        per_block = np.prod([(b + 2) ** 2 * len(self.ops) ** 2 * len(self.combiners) for b in range(self.n_blocks)])
        return int(per_block) ** len(self.cell_kinds)


def _cell(spec: list[tuple[str, int, str, int]], concat: tuple[int, ...]) -> Cell:
    return Cell(tuple(Block((i, j), (a, b)) for a, i, b, j in spec), concat)


#: NASNet-A (Zoph et al. 2018), transcribed from TF-slim's NasNetANormalCell / NasNetAReductionCell.
NASNET_A = Genotype(
    normal=_cell(
        [
            ("sep_conv_5x5", 0, "sep_conv_3x3", 1),
            ("sep_conv_5x5", 1, "sep_conv_3x3", 1),
            ("avg_pool_3x3", 0, "skip_connect", 1),
            ("avg_pool_3x3", 1, "avg_pool_3x3", 1),
            ("sep_conv_3x3", 0, "skip_connect", 0),
        ],
        concat=(1, 2, 3, 4, 5, 6),
    ),
    reduce=_cell(
        [
            ("sep_conv_5x5", 0, "sep_conv_7x7", 1),
            ("max_pool_3x3", 0, "sep_conv_7x7", 1),
            ("avg_pool_3x3", 0, "sep_conv_5x5", 1),
            ("skip_connect", 3, "avg_pool_3x3", 2),
            ("sep_conv_3x3", 2, "max_pool_3x3", 0),
        ],
        concat=(3, 4, 5, 6),
    ),
)


#: PNASNet-5 (Liu et al. 2018), transcribed from TF-slim's PNasNetNormalCell.
PNASNET_5 = Genotype(
    normal=_cell(
        [
            ("sep_conv_5x5", 1, "max_pool_3x3", 1),
            ("sep_conv_7x7", 0, "max_pool_3x3", 0),
            ("sep_conv_5x5", 0, "sep_conv_3x3", 0),
            ("sep_conv_3x3", 4, "max_pool_3x3", 0),
            ("sep_conv_3x3", 1, "skip_connect", 0),
        ],
        concat=(2, 3, 4, 5, 6),
    )
)


def register_spaces() -> None:
    """Register the PNAS and NASNet cell spaces (run once, when :data:`~neurosage.spaces.SPACES` is first queried)."""
    SPACES.register(
        "pnas", lambda n_blocks=5: CellSpace("pnas", OP_SETS["pnas"], n_blocks, separate_reduction=False, output="all_blocks"),
        description="PNAS: 8 ops, one cell (stride 2 for reductions), all blocks concatenated",
        citation="Liu et al. 2018, Progressive Neural Architecture Search",
    )
    SPACES.register(
        "nasnet",
        lambda n_blocks=5: CellSpace("nasnet", OP_SETS["nasnet"], n_blocks, separate_reduction=True, combiners=("add", "concat"),
                                     output="loose_ends"),
        description="NASNet: 13 ops, add or concatenate per block, normal and reduction cells, loose ends concatenated",
        citation="Zoph et al. 2018, Learning Transferable Architectures for Scalable Image Recognition",
    )
