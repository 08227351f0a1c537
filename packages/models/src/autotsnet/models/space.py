"""The Auto-TSNet search space (Gong et al., ICCV 2021, Table 1; spec §1) as named variables.

A :class:`SearchSpace` is a fixed *base* genome (inputs, stems, depths, head, GloRe ratios)
plus a tuple of categorical :class:`Variable` s, each addressed by a genome path::

    sparse.groups[3].temporal_kernel   {1, 3, 5}            step "sparse"
    sparse.groups[3].spatial_kernel    {3, 5}               step "sparse"
    sparse.groups[3].width             Table 1 range        step "sparse"
    sparse.groups[3].expansion         {1.5, ..., 6.0}      step "sparse"
    dense.groups[i].*                  (same, dense widths) step "dense"
    fusion[i]                          4 ops, 10 locations  step "dense"
    sparse.glore[5], dense.glore[2]    {False, True}        step "attention"

The steps follow the progressive search of [P] §4.2: sparse stream, then dense stream plus
fusion, then attention. An *assignment* is a ``{variable name: value}`` dict; ``decode`` turns
it into a :class:`Genome` and ``encode`` does the reverse. Depth, crops and frame counts are
not searched (Auto-TSNet-M/L scale a searched S), so ``contains`` ignores them.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from autotsnet.models.genome import (
    EXPANSIONS,
    FUSION_OPS,
    SPATIAL_KERNELS,
    TEMPORAL_KERNELS,
    FusionOp,
    Genome,
    GenomeError,
    GloReGene,
    HeadGene,
    HiddenNorm,
    InputSpec,
    StreamGene,
)
from autotsnet.models.layout import (
    DENSE_WIDTH_CHOICES,
    GLORE_CANDIDATES,
    SPARSE_WIDTH_CHOICES,
    TABLE1_STAGES,
    TABLE1_STRIDES,
    table1_stream,
)
from autotsnet.models.plan import fused_width

__all__ = [
    "PAPER_SIZES",
    "SCALES",
    "STEPS",
    "TINY_MIN_WIDTH",
    "TINY_STRIDES",
    "TINY_WIDTH_DIVISOR",
    "SearchSpace",
    "Variable",
    "scale_widths",
]

STEPS: tuple[str, ...] = ("sparse", "dense", "attention")
"""Progressive search steps in order ([P] §4.2); fusion variables belong to ``"dense"``."""

SCALES: tuple[str, ...] = ("full", "tiny")

PAPER_SIZES: dict[str, float] = {"sparse": 8e24, "dense": 6e24, "attention": 4096, "total": 2e53}
"""Space sizes the paper reports per step ([P] §4.2, §5.5) and in total."""

_GROUP_FIELDS: tuple[str, ...] = ("temporal_kernel", "spatial_kernel", "width", "expansion")
_STREAMS: tuple[str, ...] = ("sparse", "dense")


@dataclass(frozen=True, kw_only=True)
class Variable:
    """One categorical search variable.

    Attributes:
        name: Genome path, e.g. ``"sparse.groups[3].temporal_kernel"``, ``"fusion[2]"`` or
            ``"sparse.glore[5]"`` (GloRe after group 5 of the sparse stream).
        choices: Allowed values (numbers ascending; fusion ops in ``FUSION_OPS`` order).
        step: Progressive step that searches it: ``"sparse"``, ``"dense"`` or ``"attention"``.
    """

    name: str
    choices: tuple[Any, ...]
    step: str


@dataclass(frozen=True)
class _Slot:
    """Where a variable lives in a genome (internal)."""

    kind: str  # "group" | "fusion" | "glore"
    stream: str  # "sparse" | "dense" ("dense" for fusion: it needs the dense stream)
    index: int
    field: str = ""


def scale_widths(choices: tuple[int, ...], divisor: int = 8, minimum: int = 4) -> tuple[int, ...]:
    """Scale width choices down by ``divisor``, at least ``minimum``, keeping them distinct.

    Each scaled value is ``max(minimum, round(c / divisor), previous + 1)``, so the order and the
    number of choices survive (``(8, 16)`` becomes ``(4, 5)``).
    """
    out: list[int] = []
    for c in sorted(choices):
        w = max(minimum, round(c / divisor))
        if out:
            w = max(w, out[-1] + 1)
        out.append(w)
    return tuple(out)


def _check_step(step: str | None) -> None:
    if step is not None and step not in STEPS:
        raise ValueError(f"step = {step!r}: must be one of {', '.join(STEPS)} (or None)")


class SearchSpace:
    """Categorical variables over a base genome, with sampling, mutation and (de)coding.

    Args:
        base: Fixed parts and the default assignment; must be a two-stream genome whose
            values lie inside the space.
        sparse_widths: Width choices of each sparse group.
        dense_widths: Width choices of each dense group.
        glore_candidates: Group indices where a GloRe unit may follow, per stream.
        stages: Stage of each group (the macro layout ``contains`` checks).
        strides: Spatial stride of each group.
    """

    def __init__(
        self,
        *,
        base: Genome,
        sparse_widths: tuple[tuple[int, ...], ...],
        dense_widths: tuple[tuple[int, ...], ...],
        glore_candidates: tuple[int, ...] = GLORE_CANDIDATES,
        stages: tuple[int, ...] = TABLE1_STAGES,
        strides: tuple[int, ...] = TABLE1_STRIDES,
    ) -> None:
        if not len(sparse_widths) == len(dense_widths) == len(stages) == len(strides):
            raise ValueError("sparse_widths, dense_widths, stages and strides differ in length")
        self.stages, self.strides = stages, strides
        self.glore_candidates = glore_candidates
        self._widths = {"sparse": sparse_widths, "dense": dense_widths}
        self._slots: dict[str, _Slot] = {}
        self._vars: tuple[Variable, ...] = self._make_variables()
        self._by_name = {v.name: v for v in self._vars}
        if base.dense is None:
            raise ValueError("the base genome of a search space must have a dense stream")
        problems = self.check(base)
        if problems:
            raise GenomeError(f"base genome outside the space: {problems[0]}")
        self.base = base

    # ------------------------------------------------------------------ construction
    @classmethod
    def table1(cls, *, scale: str = "full", hidden_norm: HiddenNorm = "none") -> SearchSpace:
        """The Auto-TSNet space of [P] Table 1 (spec §1.1).

        Args:
            scale: ``"full"``: the paper's space (4 + 32 frames, 160 px, widths of Table 1).
                ``"tiny"``: the same variables and candidates with widths divided by 4
                (at least 8, distinct), one block per group, no downsampling in stages 3
                and 4 (total stride 8, so a 32 px crop ends on a 4x4 map), 2 + 8 frames
                (alpha 4), 32 px training / 36 px test crops (X3D's 160/182 ratio) and a
                64-wide head, for CPU-sized supernets.
            hidden_norm: The classifier head's :attr:`HeadGene.hidden_norm` in every genome
                of the space (``"none"``: X3D's head; ``"bn"``: a BatchNorm1d before the
                hidden ReLU, whose units then cannot die).
        """
        if scale == "full":
            return cls(
                base=_default_base(
                    SPARSE_WIDTH_CHOICES, DENSE_WIDTH_CHOICES, tiny=False, hidden_norm=hidden_norm
                ),
                sparse_widths=SPARSE_WIDTH_CHOICES,
                dense_widths=DENSE_WIDTH_CHOICES,
            )
        if scale == "tiny":
            sparse = tuple(
                scale_widths(c, TINY_WIDTH_DIVISOR, TINY_MIN_WIDTH) for c in SPARSE_WIDTH_CHOICES
            )
            dense = tuple(
                scale_widths(c, TINY_WIDTH_DIVISOR, TINY_MIN_WIDTH) for c in DENSE_WIDTH_CHOICES
            )
            return cls(
                base=_default_base(sparse, dense, tiny=True, hidden_norm=hidden_norm),
                sparse_widths=sparse,
                dense_widths=dense,
                strides=TINY_STRIDES,
            )
        raise ValueError(f"scale = {scale!r}: must be one of {', '.join(SCALES)}")

    def _add(self, name: str, choices: tuple[Any, ...], step: str, slot: _Slot) -> Variable:
        self._slots[name] = slot
        return Variable(name=name, choices=choices, step=step)

    def _make_variables(self) -> tuple[Variable, ...]:
        out: list[Variable] = []
        for stream in _STREAMS:
            for i, widths in enumerate(self._widths[stream]):
                choices: dict[str, tuple[Any, ...]] = {
                    "temporal_kernel": TEMPORAL_KERNELS,
                    "spatial_kernel": SPATIAL_KERNELS,
                    "width": tuple(sorted(widths)),
                    "expansion": EXPANSIONS,
                }
                for f in _GROUP_FIELDS:
                    name = f"{stream}.groups[{i}].{f}"
                    out.append(self._add(name, choices[f], stream, _Slot("group", stream, i, f)))
        for i in range(len(self.stages) - 1):
            out.append(self._add(f"fusion[{i}]", FUSION_OPS, "dense", _Slot("fusion", "dense", i)))
        for stream in _STREAMS:
            for i in self.glore_candidates:
                slot = _Slot("glore", stream, i)
                out.append(self._add(f"{stream}.glore[{i}]", (False, True), "attention", slot))
        return tuple(out)

    # ------------------------------------------------------------------ queries
    def variables(self, step: str | None = None) -> tuple[Variable, ...]:
        """All variables, or those searched in ``step``, in a stable order."""
        _check_step(step)
        return tuple(v for v in self._vars if step is None or v.step == step)

    def variable(self, name: str) -> Variable:
        """The variable called ``name``; raises :class:`GenomeError` if there is none."""
        try:
            return self._by_name[name]
        except KeyError:
            raise GenomeError(f"{name}: not a variable of this search space") from None

    def size(self, step: str | None = None) -> int:
        """Exact number of assignments of the variables of ``step`` (all steps if None)."""
        return math.prod(len(v.choices) for v in self.variables(step))

    def base_for_step(self, step: str) -> Genome:
        """The base as the progressive search sees it before ``step``.

        ``"sparse"``: sparse stream only, no GloRe. ``"dense"``: both streams, no GloRe.
        ``"attention"``: the full base.
        """
        _check_step(step)
        if step == "attention":
            return self.base
        sparse = dataclasses.replace(self.base.sparse, glore_after=())
        if step == "sparse":
            return self.base.replace(sparse=sparse, dense=None, fusion=())
        assert self.base.dense is not None
        dense = dataclasses.replace(self.base.dense, glore_after=())
        return self.base.replace(sparse=sparse, dense=dense)

    # ------------------------------------------------------------------ membership
    def check(self, genome: Genome) -> list[str]:
        """One message per way ``genome`` leaves the space (empty if it is inside).

        Single-stream genomes are checked as points of the sparse-only sub-space of step 1.
        Messages look like ``sparse.groups[4].width = 100: must be one of 128, 144, 160, 176``.
        """
        problems: list[str] = []
        for name, stream in genome.streams.items():
            problems += self._check_stream(name, stream)
        return problems

    def _check_stream(self, name: str, stream: StreamGene) -> list[str]:
        n = len(self.stages)
        if len(stream.groups) != n:
            return [f"{name}.groups = <{len(stream.groups)} groups>: the space has {n} groups"]
        problems: list[str] = []
        for i, g in enumerate(stream.groups):
            for attr, want in (("stage", self.stages[i]), ("stride", self.strides[i])):
                if getattr(g, attr) != want:
                    problems.append(
                        f"{name}.groups[{i}].{attr} = {getattr(g, attr)}: must be {want}"
                    )
            for f in _GROUP_FIELDS:
                var = self._by_name[f"{name}.groups[{i}].{f}"]
                value = getattr(g, f)
                if value not in var.choices:
                    allowed = ", ".join(str(c) for c in var.choices)
                    problems.append(f"{var.name} = {value!r}: must be one of {allowed}")
        allowed_glore = ", ".join(str(c) for c in self.glore_candidates)
        for j, idx in enumerate(stream.glore_after):
            if idx not in self.glore_candidates:
                problems.append(
                    f"{name}.glore_after[{j}] = {idx}: GloRe may only follow groups {allowed_glore}"
                )
        return problems

    def contains(self, genome: Genome) -> bool:
        """True when :meth:`check` finds nothing."""
        return not self.check(genome)

    # ------------------------------------------------------------------ coding
    def encode(self, genome: Genome) -> dict[str, Any]:
        """Values of every variable present in ``genome`` (dense ones only if two-stream).

        Raises:
            GenomeError: Naming the first path outside the space.
        """
        problems = self.check(genome)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise GenomeError(problems[0] + more)
        out: dict[str, Any] = {}
        for v in self._vars:
            slot = self._slots[v.name]
            stream = genome.streams.get(slot.stream)
            if stream is None:
                continue
            if slot.kind == "group":
                out[v.name] = getattr(stream.groups[slot.index], slot.field)
            elif slot.kind == "fusion":
                out[v.name] = genome.fusion[slot.index]
            else:
                out[v.name] = slot.index in stream.glore_after
        return out

    def decode(self, assignment: Mapping[str, Any], *, base: Genome | None = None) -> Genome:
        """Genome with the assigned values; unassigned variables keep ``base``'s values.

        Args:
            assignment: Values by variable name.
            base: Genome supplying the rest (default :attr:`base`). If it is single-stream and
                a dense, fusion or dense GloRe variable is assigned, the dense stream and
                fusion ops of :attr:`base` are added first.

        Raises:
            GenomeError: For an unknown name or a value outside the variable's choices.
        """
        base = self.base if base is None else base
        values: dict[str, Any] = {}
        for name, value in assignment.items():
            var = self.variable(name)
            is_flag = isinstance(var.choices[0], bool)
            if value not in var.choices or (isinstance(value, bool) and not is_flag):
                allowed = ", ".join(str(c) for c in var.choices)
                raise GenomeError(f"{name} = {value!r}: must be one of {allowed}")
            values[name] = var.choices[var.choices.index(value)]  # canonical type (3 -> 3.0)
        if base.dense is None and any(self._slots[n].stream == "dense" for n in values):
            assert self.base.dense is not None
            base = base.replace(dense=self.base.dense, fusion=self.base.fusion)
        return self._apply(base, values)

    def _apply(self, base: Genome, values: Mapping[str, Any]) -> Genome:
        fusion = list(base.fusion)
        streams: dict[str, StreamGene] = {}
        for name, stream in base.streams.items():
            groups = [dict[str, Any]() for _ in stream.groups]
            glore = set(stream.glore_after)
            for var_name, value in values.items():
                slot = self._slots[var_name]
                if slot.kind == "fusion":
                    fusion[slot.index] = value
                elif slot.stream != name:
                    continue
                elif slot.kind == "group":
                    groups[slot.index][slot.field] = value
                elif value:
                    glore.add(slot.index)
                else:
                    glore.discard(slot.index)
            streams[name] = dataclasses.replace(
                stream,
                groups=tuple(
                    dataclasses.replace(g, **ch)
                    for g, ch in zip(stream.groups, groups, strict=True)
                ),
                glore_after=tuple(sorted(glore)),
            )
        return base.replace(
            sparse=streams["sparse"], dense=streams.get("dense"), fusion=tuple(fusion)
        )

    # ------------------------------------------------------------------ random
    def _step_vars(self, step: str | None, genome: Genome) -> tuple[Variable, ...]:
        return tuple(
            v for v in self.variables(step) if self._slots[v.name].stream in genome.streams
        )

    def sample(
        self, rng: random.Random, *, step: str | None = None, base: Genome | None = None
    ) -> Genome:
        """Uniformly sample the variables of ``step`` (all if None); the rest come from base."""
        base = self.base if base is None else base
        _check_step(step)
        return self.decode({v.name: rng.choice(v.choices) for v in self.variables(step)}, base=base)

    def mutate(
        self, genome: Genome, rng: random.Random, *, rate: float = 0.1, step: str | None = None
    ) -> Genome:
        """Resample each variable of ``step`` with probability ``rate`` to a different value.

        At least one variable changes. Variables absent from ``genome`` (the dense ones of a
        single-stream genome) are left alone.

        Raises:
            GenomeError: If ``genome`` is outside the space.
            ValueError: If ``rate`` is not in [0, 1] or no variable can change.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate = {rate}: must be in [0, 1]")
        current = self.encode(genome)
        movable = [v for v in self._step_vars(step, genome) if len(v.choices) > 1]
        if not movable:
            raise ValueError(f"no variable of step {step!r} can change in this genome")
        chosen = [v for v in movable if rng.random() < rate] or [rng.choice(movable)]
        changes = {
            v.name: rng.choice([c for c in v.choices if c != current[v.name]]) for v in chosen
        }
        return self.decode(changes, base=genome)

    # ------------------------------------------------------------------ cost bounds
    def _extreme(
        self, pick: Callable[[Variable, int], Any], step: str | None, base: Genome | None
    ) -> Genome:
        base = self.base if base is None else base
        alpha = (self.base if base.dense is None else base).alpha
        return self.decode({v.name: pick(v, alpha) for v in self.variables(step)}, base=base)

    def min_cost_genome(self, step: str | None = None, base: Genome | None = None) -> Genome:
        """The cheapest choice of every variable of ``step``: smallest t, k, width and
        expansion, no fusion, no GloRe. Cost is monotone in each variable, so this is the
        FLOPs minimum of the sub-space (``base`` supplies the rest)."""
        return self._extreme(lambda v, a: min(v.choices, key=_cost_key(v, a)), step, base)

    def max_cost_genome(self, step: str | None = None, base: Genome | None = None) -> Genome:
        """The most expensive choice of every variable of ``step``: largest t, k, width and
        expansion, the fusion op adding the most channels (time-to-channel for alpha > 2,
        ties to the strided conv) and GloRe everywhere."""
        return self._extreme(lambda v, a: max(v.choices, key=_cost_key(v, a)), step, base)

    def __repr__(self) -> str:
        return f"SearchSpace({len(self._vars)} variables, size {self.size():.3e})"


def _cost_key(var: Variable, alpha: int) -> Callable[[Any], tuple[float, int]]:
    """Order the choices of ``var`` by the cost they add."""
    if var.choices == FUSION_OPS:
        return lambda op: (fused_width(op, 1, alpha), int(op == "time_strided_conv"))
    return lambda c: (float(c), 0)


_T_CONV: tuple[FusionOp, ...] = ("time_strided_conv",)

TINY_WIDTH_DIVISOR = 4
"""Tiny scale divides every Table 1 width choice by this (at least :data:`TINY_MIN_WIDTH`)."""
TINY_MIN_WIDTH = 8
"""Narrowest tiny-scale width: 4-5 channel streams (divisor 8) did not learn the synthetic
task on CPU budgets (docs/search.md, "Why tiny is not smaller")."""
TINY_STRIDES: tuple[int, ...] = tuple(1 if g in (4, 8) else s for g, s in enumerate(TABLE1_STRIDES))
"""Table 1 strides without the stage-3 and stage-4 downsampling (total stride 8, not 32):
at the tiny 32 px crop Table 1's strides end on a 1x1 map, on which the nets did not learn."""


def _mid(choices: tuple[Any, ...]) -> Any:
    return tuple(sorted(choices))[(len(choices) - 1) // 2]


def _default_base(
    sparse_widths: tuple[tuple[int, ...], ...],
    dense_widths: tuple[tuple[int, ...], ...],
    *,
    tiny: bool,
    hidden_norm: HiddenNorm = "none",
) -> Genome:
    """A mid-range genome: middle kernels/widths/expansion, T-conv fusion, no GloRe."""
    n = len(sparse_widths)
    if tiny:
        # test crop in X3D's ratio to the training crop (182/160), as with_inputs and shrink
        sp_in = InputSpec(
            frames=2, temporal_stride=8, train_crop=32, test_crop=36, test_short_side=36
        )
        de_in = InputSpec(
            frames=8, temporal_stride=2, train_crop=32, test_crop=36, test_short_side=36
        )
        stems, head = (TINY_MIN_WIDTH, TINY_MIN_WIDTH), HeadGene(hidden=64, hidden_norm=hidden_norm)
    else:
        sp_in = InputSpec(frames=4, temporal_stride=16)
        de_in = InputSpec(frames=32, temporal_stride=2)
        stems, head = (24, 8), HeadGene(hidden_norm=hidden_norm)
    streams = []
    for inp, stem, widths in ((sp_in, stems[0], sparse_widths), (de_in, stems[1], dense_widths)):
        stream = table1_stream(
            input=inp,
            stem_width=stem,
            widths=[_mid(w) for w in widths],
            expansions=[_mid(EXPANSIONS)] * n,
            temporal_kernels=[_mid(TEMPORAL_KERNELS)] * n,
            spatial_kernels=[_mid(SPATIAL_KERNELS)] * n,
        )
        if tiny:
            groups = tuple(
                dataclasses.replace(g, depth=1, stride=st)
                for g, st in zip(stream.groups, TINY_STRIDES, strict=True)
            )
            stream = dataclasses.replace(stream, groups=groups)
        streams.append(stream)
    return Genome(
        name=f"table1_{'tiny' if tiny else 'full'}_base",
        sparse=streams[0],
        dense=streams[1],
        fusion=_T_CONV * (n - 1),
        glore=GloReGene(state_ratio=2.0, node_ratio=2.0),
        head=head,
        notes=(
            "Mid-range default of SearchSpace.table1: middle width of every Table 1 range, "
            "t=3, k=3, e=3.75, T-conv fusion everywhere, no GloRe; GloRe ratios (2, 2) as in "
            "the auto_tsnet zoo entries (spec §5.3).",
        ),
    )
