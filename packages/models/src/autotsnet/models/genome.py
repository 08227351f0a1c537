"""The genome: an Auto-TSNet architecture as a frozen, typed, JSON-serialisable value.

A genome describes a one- or two-stream video network in the multivariate space of
Auto-TSNet (Gong et al., ICCV 2021, Table 1). It imports nothing from torch so that
search bookkeeping, the CLI and the cost estimator can use it cheaply.

Layout::

    Genome
    ├── sparse: StreamGene          (the Slow-like stream; the only stream of X3D)
    │   ├── input: InputSpec        (frames, temporal stride, train/test crop)
    │   ├── stem: StemGene          (conv 1x3x3 stride 2, then depthwise t0x1x1)
    │   ├── groups: (GroupGene, ...)  (t, k, width, expansion, depth, stride, stage)
    │   └── glore_after: (int, ...) (GloRe units after these group indices)
    ├── dense: StreamGene | None     (the Fast-like stream; None = single stream)
    ├── fusion: (FusionOp, ...)     (one op per location: after group i, i < n-1)
    ├── glore: GloReGene            (state/node ratios of every GloRe unit)
    └── head: HeadGene

Every field is validated on construction; errors name the exact path, e.g.
``sparse.groups[4].temporal_kernel = 4: must be one of 1, 3, 5``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

__all__ = [
    "ACTIVATIONS",
    "EXPANSIONS",
    "FUSION_OPS",
    "SCHEMA_VERSION",
    "SPATIAL_KERNELS",
    "TEMPORAL_KERNELS",
    "FusionOp",
    "Genome",
    "GenomeError",
    "GloReGene",
    "GroupGene",
    "HeadGene",
    "HiddenNorm",
    "InputSpec",
    "StemGene",
    "StreamGene",
    "inner_width",
    "load_genome",
]

SCHEMA_VERSION = 1
"""Current genome schema version; bump it (and add a migration) whenever a field changes."""

HiddenNorm = Literal["none", "bn"]
"""Normalisation of the classifier head's hidden layer (:attr:`HeadGene.hidden_norm`)."""

OMITTED_DEFAULTS: tuple[tuple[str, str, object], ...] = (("head", "hidden_norm", "none"),)
"""Optional fields added to schema 1 later: ``(section, field, default)``. JSON holds them
only when they differ from the default, so every genome written before they existed keeps
its text and :attr:`Genome.genome_id`."""

TEMPORAL_KERNELS: tuple[int, ...] = (1, 3, 5)
SPATIAL_KERNELS: tuple[int, ...] = (3, 5)
EXPANSIONS: tuple[float, ...] = (1.5, 2.25, 3.0, 3.75, 4.5, 5.25, 6.0)
STRIDES: tuple[int, ...] = (1, 2)
STEM_TEMPORAL_KERNELS: tuple[int, ...] = (1, 3, 5)
ACTIVATIONS: tuple[str, ...] = ("swish", "relu")

FusionOp = Literal["none", "time_to_channel", "time_strided_sample", "time_strided_conv"]
FUSION_OPS: tuple[str, ...] = get_args(FusionOp)


class GenomeError(ValueError):
    """A genome is malformed; the message is one line naming the path and the problem."""


class _Summary(str):
    """A value summary shown as-is in error messages (e.g. ``<3 groups>``)."""

    def __repr__(self) -> str:
        return str(self)


def _fail(path: str, value: object, why: str) -> typing.NoReturn:
    raise GenomeError(f"{path} = {value!r}: {why}")


def _choices(values: tuple[object, ...]) -> str:
    return ", ".join(str(v) for v in values)


def _check_choice(path: str, value: object, allowed: tuple[object, ...]) -> None:
    if value not in allowed:
        _fail(path, value, f"must be one of {_choices(allowed)}")


def _check_positive(path: str, value: int) -> None:
    if value < 1:
        _fail(path, value, "must be a positive integer")


def inner_width(width: int, expansion: float) -> int:
    """Inner (depthwise) width of an MBConv3D block: ``round(expansion * width)``.

    This is X3D's convention (``dim_inner = int(2.25 * dim_out)``), relative to the
    block's *output* width; spec §1.2.
    """
    return round(expansion * width)


@dataclass(frozen=True, kw_only=True)
class InputSpec:
    """How one stream reads video.

    Attributes:
        frames: Frames per clip fed to the stream (T).
        temporal_stride: Stride between sampled frames, in frames of the source video.
        train_crop: Square spatial crop used in training (and for 1-view FLOPs).
        test_crop: Square spatial crop of the 3-crop ("10-LeftCenterRight") test views.
        test_short_side: Short side the video is scaled to before test crops are taken.
    """

    frames: int
    temporal_stride: int
    train_crop: int = 160
    test_crop: int = 182
    test_short_side: int = 182

    def validate(self, path: str) -> None:
        """Raise :class:`GenomeError` when a field is out of range."""
        for name in ("frames", "temporal_stride", "train_crop", "test_crop", "test_short_side"):
            _check_positive(f"{path}.{name}", getattr(self, name))
        if self.test_crop > self.test_short_side:
            _fail(f"{path}.test_crop", self.test_crop, "must not exceed test_short_side")


@dataclass(frozen=True, kw_only=True)
class StemGene:
    """The X3D-style stem: conv 1x3x3 (stride 1,2,2) then depthwise t0x1x1, BN, ReLU.

    Attributes:
        width: Output channels C0.
        temporal_kernel: t0 of the depthwise temporal conv (X3D uses 5; Table 1 prints 3).
    """

    width: int
    temporal_kernel: int = 5

    def validate(self, path: str) -> None:
        """Raise :class:`GenomeError` when a field is out of range."""
        _check_positive(f"{path}.width", self.width)
        _check_choice(f"{path}.temporal_kernel", self.temporal_kernel, STEM_TEMPORAL_KERNELS)


@dataclass(frozen=True, kw_only=True)
class GroupGene:
    """One block group: ``depth`` MBConv3D blocks that share every searched choice.

    Attributes:
        temporal_kernel: t of the depthwise ``t x k x k`` conv.
        spatial_kernel: k of the depthwise conv.
        width: Output channels of every block in the group.
        expansion: Inner width = ``round(expansion * width)``.
        depth: Number of blocks N.
        stride: Spatial stride of the group's first block.
        stage: The X3D stage (1-4) the group belongs to; SE alternates per stage.
    """

    temporal_kernel: int
    spatial_kernel: int
    width: int
    expansion: float
    depth: int
    stride: int
    stage: int

    def validate(self, path: str) -> None:
        """Raise :class:`GenomeError` when a field is out of range."""
        _check_choice(f"{path}.temporal_kernel", self.temporal_kernel, TEMPORAL_KERNELS)
        _check_choice(f"{path}.spatial_kernel", self.spatial_kernel, SPATIAL_KERNELS)
        _check_positive(f"{path}.width", self.width)
        _check_choice(f"{path}.expansion", self.expansion, EXPANSIONS)
        _check_positive(f"{path}.depth", self.depth)
        _check_choice(f"{path}.stride", self.stride, STRIDES)
        _check_positive(f"{path}.stage", self.stage)

    @property
    def inner(self) -> int:
        """Inner (depthwise) width of the group's blocks."""
        return inner_width(self.width, self.expansion)


@dataclass(frozen=True, kw_only=True)
class StreamGene:
    """One stream: input spec, stem, block groups and GloRe locations.

    Attributes:
        input: How the stream samples frames and crops.
        stem: The stem.
        groups: Block groups in order.
        glore_after: Indices of groups followed by a GloRe unit (sorted, unique).
        se_ratio: Squeeze-excitation ratio on blocks 0, 2, 4, ... of each stage (0 = off).
        activation: Activation after the depthwise conv ("swish" as in X3D).
    """

    input: InputSpec
    stem: StemGene
    groups: tuple[GroupGene, ...]
    glore_after: tuple[int, ...] = ()
    se_ratio: float = 0.0625
    activation: str = "swish"

    def validate(self, path: str) -> None:
        """Raise :class:`GenomeError` when a field is out of range."""
        self.input.validate(f"{path}.input")
        self.stem.validate(f"{path}.stem")
        if not self.groups:
            _fail(f"{path}.groups", [], "a stream needs at least one group")
        prev_stage = 0
        for i, g in enumerate(self.groups):
            g.validate(f"{path}.groups[{i}]")
            if g.stage < prev_stage:
                _fail(f"{path}.groups[{i}].stage", g.stage, "stages must not decrease")
            prev_stage = g.stage
        n = len(self.groups)
        for j, idx in enumerate(self.glore_after):
            if not 0 <= idx < n:
                _fail(f"{path}.glore_after[{j}]", idx, f"must be a group index in 0..{n - 1}")
        if list(self.glore_after) != sorted(set(self.glore_after)):
            _fail(f"{path}.glore_after", list(self.glore_after), "must be sorted and unique")
        if not 0.0 <= self.se_ratio < 1.0:
            _fail(f"{path}.se_ratio", self.se_ratio, "must be in [0, 1)")
        _check_choice(f"{path}.activation", self.activation, ACTIVATIONS)

    @property
    def strides(self) -> tuple[int, ...]:
        """Spatial stride of every group."""
        return tuple(g.stride for g in self.groups)

    @property
    def num_blocks(self) -> int:
        """Total MBConv3D blocks in the stream."""
        return sum(g.depth for g in self.groups)

    @property
    def out_width(self) -> int:
        """Channels leaving the last group."""
        return self.groups[-1].width


@dataclass(frozen=True, kw_only=True)
class GloReGene:
    """Width ratios of every GloRe unit (spec §5): C' = state_ratio*C, N = node_ratio*C.

    The reference GloRe uses (1/2, 1/4); Auto-TSNet's reported cost deltas suggest about
    (2, 2). Ratios apply to the channels entering the unit.
    """

    state_ratio: float = 0.5
    node_ratio: float = 0.25

    def validate(self, path: str) -> None:
        """Raise :class:`GenomeError` when a field is out of range."""
        for name in ("state_ratio", "node_ratio"):
            value = getattr(self, name)
            if not 0.0 < value <= 8.0:
                _fail(f"{path}.{name}", value, "must be in (0, 8]")


@dataclass(frozen=True, kw_only=True)
class HeadGene:
    """X3D-style head per stream, pooled features concatenated, then an MLP.

    Per stream: 1x1x1 conv to ``round(conv_expansion * C_last)`` + BN + ReLU + global
    average pool. Then ``Linear(sum, hidden, bias=False)`` + [BN] + ReLU + dropout +
    ``Linear``.

    Attributes:
        conv_expansion: Width factor of the per-stream 1x1x1 conv (X3D: 2.25).
        hidden: Width of the hidden linear layer (X3D: 2048).
        dropout: Dropout before the classifier.
        hidden_norm: Normalisation between the hidden linear layer and its ReLU: ``none``
            (X3D) or ``bn`` (BatchNorm1d, so every hidden unit stays positive on part of
            each batch and cannot die). Written to JSON only when not ``none``.
    """

    conv_expansion: float = 2.25
    hidden: int = 2048
    dropout: float = 0.5
    hidden_norm: HiddenNorm = "none"

    def validate(self, path: str) -> None:
        """Raise :class:`GenomeError` when a field is out of range."""
        if not 0.0 < self.conv_expansion <= 16.0:
            _fail(f"{path}.conv_expansion", self.conv_expansion, "must be in (0, 16]")
        _check_positive(f"{path}.hidden", self.hidden)
        if not 0.0 <= self.dropout < 1.0:
            _fail(f"{path}.dropout", self.dropout, "must be in [0, 1)")


G = TypeVar("G", bound="Genome")


@dataclass(frozen=True, kw_only=True)
class Genome:
    """A complete one- or two-stream architecture.

    Attributes:
        sparse: The sparse (few frames, large stride) stream; the only stream of X3D.
        dense: The dense (many frames, small stride) stream, or None for one stream.
        fusion: One op per fusion location (after dense->sparse group ``i`` for
            ``i < len(groups) - 1``); empty for single-stream genomes.
        glore: GloRe width ratios.
        head: Head configuration.
        name: Free-form name (not part of :attr:`genome_id`).
        notes: Assumptions and provenance (not part of :attr:`genome_id`).
        schema_version: Version of this schema.
    """

    sparse: StreamGene
    dense: StreamGene | None = None
    fusion: tuple[FusionOp, ...] = ()
    glore: GloReGene = field(default_factory=GloReGene)
    head: HeadGene = field(default_factory=HeadGene)
    name: str = ""
    notes: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Check every field and cross-field constraint; raise :class:`GenomeError`."""
        if self.schema_version > SCHEMA_VERSION:
            _fail(
                "schema_version",
                self.schema_version,
                f"newer than this autotsnet supports ({SCHEMA_VERSION}); upgrade autotsnet",
            )
        if self.schema_version < 1:
            _fail("schema_version", self.schema_version, "must be >= 1")
        self.sparse.validate("sparse")
        self.glore.validate("glore")
        self.head.validate("head")
        if self.dense is None:
            if self.fusion:
                _fail("fusion", list(self.fusion), "a single-stream genome has no fusion")
            return
        self.dense.validate("dense")
        self._validate_two_stream(self.dense)

    def _validate_two_stream(self, dense: StreamGene) -> None:
        sp = self.sparse
        if len(dense.groups) != len(sp.groups):
            _fail(
                "dense.groups",
                _Summary(f"<{len(dense.groups)} groups>"),
                f"must have as many groups as sparse ({len(sp.groups)})",
            )
        for i, (gs, gd) in enumerate(zip(sp.groups, dense.groups, strict=True)):
            if gs.stride != gd.stride:
                _fail(f"dense.groups[{i}].stride", gd.stride, f"must equal sparse ({gs.stride})")
        if dense.input.frames % sp.input.frames != 0:
            _fail(
                "dense.input.frames",
                dense.input.frames,
                f"must be a multiple of sparse.input.frames ({sp.input.frames})",
            )
        for name in ("train_crop", "test_crop", "test_short_side"):
            a, b = getattr(sp.input, name), getattr(dense.input, name)
            if a != b:
                _fail(f"dense.input.{name}", b, f"must equal sparse.input.{name} ({a})")
        n_loc = len(sp.groups) - 1
        if len(self.fusion) != n_loc:
            _fail("fusion", _Summary(f"<{len(self.fusion)} ops>"), f"needs exactly {n_loc} ops")
        for i, op in enumerate(self.fusion):
            _check_choice(f"fusion[{i}]", op, FUSION_OPS)

    # ------------------------------------------------------------------ properties
    @property
    def two_stream(self) -> bool:
        """True when the genome has a dense stream."""
        return self.dense is not None

    @property
    def alpha(self) -> int:
        """Frame-rate ratio dense/sparse (SlowFast's alpha); 1 for single-stream."""
        if self.dense is None:
            return 1
        return self.dense.input.frames // self.sparse.input.frames

    @property
    def streams(self) -> dict[str, StreamGene]:
        """The streams by name, sparse first."""
        out = {"sparse": self.sparse}
        if self.dense is not None:
            out["dense"] = self.dense
        return out

    @property
    def genome_id(self) -> str:
        """12-hex-digit SHA-256 of the canonical JSON of the architecture.

        ``name`` and ``notes`` are excluded, so identical architectures share an id.
        """
        data = self.to_dict()
        data.pop("name")
        data.pop("notes")
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        plain = _to_plain(dataclasses.asdict(self))
        assert isinstance(plain, dict)
        for section, name, default in OMITTED_DEFAULTS:
            if plain[section].get(name) == default:
                del plain[section][name]
        return plain

    def to_json(self, *, indent: int | None = 2) -> str:
        """Canonical JSON text (sorted keys)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent)

    @classmethod
    def from_dict(cls: type[G], data: object) -> G:
        """Build and validate a genome from a parsed JSON object.

        Raises:
            GenomeError: On unknown fields, wrong types, missing fields or bad values.
        """
        if not isinstance(data, dict):
            raise GenomeError(f"genome: expected a JSON object, got {type(data).__name__}")
        version = data.get("schema_version", SCHEMA_VERSION)
        if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
            _fail(
                "schema_version",
                version,
                f"newer than this autotsnet supports ({SCHEMA_VERSION}); upgrade autotsnet",
            )
        genome: G = _build(cls, data, "")
        return genome

    @classmethod
    def from_json(cls: type[G], text: str) -> G:
        """Parse JSON text into a validated genome.

        Raises:
            GenomeError: On invalid JSON or an invalid genome.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GenomeError(
                f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        return cls.from_dict(data)

    def replace(self: G, **changes: Any) -> G:
        """Return a copy with fields replaced (validated again)."""
        return dataclasses.replace(self, **changes)


def load_genome(path: str | Path) -> Genome:
    """Read a genome JSON file.

    Raises:
        GenomeError: If the file is missing, unreadable or not a valid genome; the message
            starts with the path.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GenomeError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GenomeError(f"{p}: cannot read: {exc}") from None
    try:
        return Genome.from_json(text)
    except GenomeError as exc:
        raise GenomeError(f"{p}: {exc}") from None


# ---------------------------------------------------------------------- helpers
def _to_plain(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_to_plain(v) for v in obj]
    return obj


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is tuple:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "object"
    return getattr(tp, "__name__", str(tp))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _build(cls: Any, data: dict[str, Any], path: str) -> Any:
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = _join(path, unknown[0])
        raise GenomeError(f"{where}: unknown field (allowed: {', '.join(fields)})")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required:
                raise GenomeError(f"{_join(path, name)}: missing required field")
            continue
        kwargs[name] = _convert(hints[name], data[name], _join(path, name))
    return cls(**kwargs)


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, path)
    if origin is Literal:
        if value not in get_args(tp):
            _fail(path, value, f"must be one of {_choices(get_args(tp))}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            _fail(path, value, f"expected {_type_name(tp)}")
        item = get_args(tp)[0]
        return tuple(_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            _fail(path, value, "expected an object")
        return _build(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            _fail(path, value, "expected bool")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, value, "expected int")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(path, value, "expected number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            _fail(path, value, "expected string")
        return value
    raise TypeError(f"unsupported genome field type at {path}: {tp!r}")  # pragma: no cover
