"""Pure genome tests: JSON round trip, genome_id stability, one-line validation errors."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from autotsnet.models import zoo
from autotsnet.models.genome import (
    SCHEMA_VERSION,
    Genome,
    GenomeError,
    GloReGene,
    GroupGene,
    InputSpec,
    StemGene,
    StreamGene,
    load_genome,
)


def _stream(frames: int, widths: tuple[int, int]) -> StreamGene:
    return StreamGene(
        input=InputSpec(frames=frames, temporal_stride=2, train_crop=32, test_crop=32),
        stem=StemGene(width=8, temporal_kernel=3),
        groups=tuple(
            GroupGene(
                temporal_kernel=t,
                spatial_kernel=5,
                width=w,
                expansion=2.25,
                depth=2,
                stride=2,
                stage=i + 1,
            )
            for i, (t, w) in enumerate(zip((1, 3), widths, strict=True))
        ),
        glore_after=(1,),
    )


TINY = Genome(
    sparse=_stream(2, (16, 32)),
    dense=_stream(8, (8, 8)),
    fusion=("time_strided_conv",),
    glore=GloReGene(state_ratio=2.0, node_ratio=2.0),
    name="tiny",
    notes=("hand-made for the tests",),
)

TINY_ID = "c1c82c98e25c"
"""Golden id of TINY: changes only when the canonical JSON of genomes changes (bump
SCHEMA_VERSION and migrate saved genomes, checkpoints and search histories when it does)."""


def _two_stream() -> dict[str, Any]:
    return zoo.get("manual_tsnet_70").to_dict()


# ----------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("name", zoo.names())
def test_json_round_trip_of_every_zoo_genome(name: str) -> None:
    genome = zoo.get(name)
    again = Genome.from_json(genome.to_json())
    assert again == genome
    assert again.genome_id == genome.genome_id
    assert Genome.from_dict(json.loads(genome.to_json(indent=None))) == genome


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_text(TINY.to_json(), encoding="utf-8")
    loaded = load_genome(path)
    assert loaded == TINY
    assert isinstance(loaded.sparse.groups, tuple) and isinstance(loaded.fusion, tuple)


def test_to_json_is_canonical() -> None:
    text = TINY.to_json(indent=None)
    assert text == json.dumps(json.loads(text), sort_keys=True)
    assert json.loads(text)["schema_version"] == SCHEMA_VERSION


def test_genome_is_frozen_and_replace_revalidates() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        TINY.name = "x"  # type: ignore[misc]
    with pytest.raises(GenomeError, match=r"^fusion = '?<0 ops>'?: needs exactly 1 ops$"):
        TINY.replace(fusion=())


# ----------------------------------------------------------------------------- genome_id
def test_genome_id_is_stable() -> None:
    assert TINY.genome_id == TINY_ID
    assert len(TINY_ID) == 12 and int(TINY_ID, 16) >= 0


def test_genome_id_ignores_name_and_notes() -> None:
    assert TINY.replace(name="other", notes=()).genome_id == TINY.genome_id
    assert zoo.get("auto_tsnet_s").replace(name="x").genome_id == zoo.get("auto_tsnet_s").genome_id


@pytest.mark.parametrize(
    "change",
    [
        {"fusion": ("none",)},
        {"glore": GloReGene(state_ratio=0.5, node_ratio=0.25)},
        {"sparse": dataclasses.replace(TINY.sparse, glore_after=())},
        {"sparse": dataclasses.replace(TINY.sparse, se_ratio=0.0)},
        {"dense": dataclasses.replace(_stream(16, (8, 8)), glore_after=(1,))},
    ],
)
def test_genome_id_changes_with_the_architecture(change: dict[str, Any]) -> None:
    assert TINY.replace(**change).genome_id != TINY.genome_id


def test_zoo_ids_are_distinct() -> None:
    ids = [zoo.get(n).genome_id for n in zoo.names()]
    assert len(set(ids)) == len(ids)


# ----------------------------------------------------------------------------- validation
def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _drop(data: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


BAD_VALUES: list[tuple[tuple[str | int, ...], Any, str | re.Pattern[str]]] = [
    # Each message is the start of the error text (or a pattern it must match).
    # wrong types
    (("sparse", "groups", 0, "width"), "40", "sparse.groups[0].width = '40': expected int"),
    (("sparse", "groups", 0, "depth"), 1.0, "sparse.groups[0].depth = 1.0: expected int"),
    (("sparse", "groups", 0, "depth"), True, "sparse.groups[0].depth = True: expected int"),
    (("sparse", "se_ratio"), "0.1", "sparse.se_ratio = '0.1': expected number"),
    (("sparse", "glore_after"), 5, "sparse.glore_after = 5: expected list of int"),
    (("sparse", "stem"), [24], "sparse.stem = [24]: expected an object"),
    (("name",), 7, "name = 7: expected string"),
    (("dense", "input", "frames"), None, "dense.input.frames = None: expected int"),
    # choices outside the allowed sets
    (
        ("sparse", "groups", 4, "temporal_kernel"),
        4,
        "sparse.groups[4].temporal_kernel = 4: must be one of 1, 3, 5",
    ),
    (
        ("dense", "groups", 2, "spatial_kernel"),
        7,
        "dense.groups[2].spatial_kernel = 7: must be one of 3, 5",
    ),
    (
        ("sparse", "groups", 1, "expansion"),
        2.0,
        "sparse.groups[1].expansion = 2.0: must be one of 1.5, 2.25, 3.0, 3.75, 4.5, 5.25, 6.0",
    ),
    (
        ("fusion", 1),
        "sum",
        "fusion[1] = 'sum': must be one of none, time_to_channel, time_strided_sample, "
        "time_strided_conv",
    ),
    (("sparse", "activation"), "gelu", "sparse.activation = 'gelu': must be one of swish, relu"),
    (("sparse", "stem", "temporal_kernel"), 7, "sparse.stem.temporal_kernel = 7: must be one of"),
    (("sparse", "groups", 0, "stride"), 3, "sparse.groups[0].stride = 3: must be one of 1, 2"),
    # ranges and cross-field rules
    (("sparse", "groups", 3, "width"), 0, "sparse.groups[3].width = 0: must be a positive"),
    (("glore", "state_ratio"), 0.0, "glore.state_ratio = 0.0: must be in (0, 8]"),
    (("sparse", "glore_after"), [3, 2], "sparse.glore_after = [3, 2]: must be sorted and unique"),
    (("sparse", "glore_after"), [11], "sparse.glore_after[0] = 11: must be a group index in 0..10"),
    (("dense", "groups", 2, "stride"), 1, "dense.groups[2].stride = 1: must equal sparse (2)"),
    (("dense", "input", "frames"), 30, "dense.input.frames = 30: must be a multiple of sparse"),
    (("dense", "input", "train_crop"), 224, "dense.input.train_crop = 224: must equal sparse"),
    (("sparse", "groups", 5, "stage"), 2, "sparse.groups[5].stage = 2: stages must not decrease"),
    (("fusion",), ["none"], re.compile(r"fusion = '?<1 ops>'?: needs exactly 10 ops$")),
    (
        ("schema_version",),
        SCHEMA_VERSION + 1,
        f"schema_version = {SCHEMA_VERSION + 1}: newer than this autotsnet supports "
        f"({SCHEMA_VERSION}); upgrade autotsnet",
    ),
    (("schema_version",), 0, "schema_version = 0: must be >= 1"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD_VALUES)
def test_bad_values_name_the_path(
    path: tuple[str | int, ...], value: Any, message: str | re.Pattern[str]
) -> None:
    with pytest.raises(GenomeError) as info:
        Genome.from_dict(_set(_two_stream(), path, value))
    text = str(info.value)
    pattern = message if isinstance(message, re.Pattern) else re.compile(re.escape(message))
    assert pattern.match(text), text
    assert "\n" not in text
    assert isinstance(info.value, ValueError)


def test_future_schema_is_reported_before_unknown_fields() -> None:
    data = _set(_two_stream(), ("schema_version",), SCHEMA_VERSION + 5)
    data["sparse"]["new_gene"] = 1
    with pytest.raises(GenomeError, match=r"^schema_version = \d+: newer than this autotsnet"):
        Genome.from_dict(data)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            ("sparse", "stem", "depth"),
            "sparse.stem.depth: unknown field (allowed: width, temporal_kernel)",
        ),
        (("glore", "mode"), "glore.mode: unknown field (allowed: state_ratio, node_ratio)"),
        (("colour",), "colour: unknown field (allowed: sparse, dense, fusion, glore, head, name, "),
        (("dense", "groups", 0, "kernel"), "dense.groups[0].kernel: unknown field (allowed: "),
    ],
)
def test_unknown_fields_are_rejected(path: tuple[str | int, ...], message: str) -> None:
    with pytest.raises(GenomeError) as info:
        Genome.from_dict(_set(_two_stream(), path, 1))
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (("sparse",), "sparse: missing required field"),
        (("sparse", "groups", 2, "width"), "sparse.groups[2].width: missing required field"),
        (("dense", "input", "frames"), "dense.input.frames: missing required field"),
    ],
)
def test_missing_fields_are_named(path: tuple[str | int, ...], message: str) -> None:
    with pytest.raises(GenomeError, match=f"^{re.escape(message)}$"):
        Genome.from_dict(_drop(_two_stream(), path))


def test_optional_fields_take_defaults() -> None:
    data = _drop(_drop(_two_stream(), ("notes",)), ("sparse", "se_ratio"))
    data = _drop(data, ("schema_version",))
    genome = Genome.from_dict(data)
    assert genome.notes == () and genome.sparse.se_ratio == 0.0625
    assert genome.schema_version == SCHEMA_VERSION


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "invalid JSON at line 1 column 2: Expecting property name enclosed in double quotes"),
        ('{\n  "sparse": ,\n}', "invalid JSON at line 2 column 13: Expecting value"),
        ("", "invalid JSON at line 1 column 1: Expecting value"),
        ("[]", "genome: expected a JSON object, got list"),
        ("3", "genome: expected a JSON object, got int"),
    ],
)
def test_invalid_json(text: str, message: str) -> None:
    with pytest.raises(GenomeError) as info:
        Genome.from_json(text)
    assert str(info.value) == message


def test_single_stream_cannot_fuse() -> None:
    data = zoo.get("x3d_s").to_dict()
    data["fusion"] = ["none", "none", "none"]
    with pytest.raises(GenomeError, match=r"^fusion = \['none', 'none', 'none'\]: a single-stream"):
        Genome.from_dict(data)


def test_load_genome_errors_start_with_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(GenomeError, match=r"nope\.json: no such file$"):
        load_genome(missing)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_set(_two_stream(), ("fusion", 0), "sum")), encoding="utf-8")
    with pytest.raises(GenomeError) as info:
        load_genome(bad)
    assert str(info.value).startswith(f"{bad}: fusion[0] = 'sum': must be one of")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(GenomeError, match=r"bin\.json: cannot read"):
        load_genome(binary)


# ----------------------------------------------------------------------------- head norm
def test_hidden_norm_default_is_not_written_and_keeps_ids() -> None:
    # every genome written before the field existed keeps its text and id
    assert "hidden_norm" not in TINY.to_json()
    assert TINY.genome_id == TINY_ID
    bn = TINY.replace(head=dataclasses.replace(TINY.head, hidden_norm="bn"))
    assert json.loads(bn.to_json())["head"]["hidden_norm"] == "bn"
    assert Genome.from_json(bn.to_json()) == bn
    assert bn.genome_id != TINY.genome_id
    explicit = json.loads(TINY.to_json())
    explicit["head"]["hidden_norm"] = "none"
    assert Genome.from_dict(explicit) == TINY


def test_bad_hidden_norm_names_the_field() -> None:
    data = json.loads(TINY.to_json())
    data["head"]["hidden_norm"] = "layer"
    with pytest.raises(GenomeError, match=r"^head\.hidden_norm = .layer.: must be one of none, bn"):
        Genome.from_dict(data)
