"""The genome JSON Schema: shipped copy in sync, zoo genomes valid, bad files rejected."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from autotsnet.models import zoo
from autotsnet.models.genome import SCHEMA_VERSION, Genome, GenomeError
from autotsnet.models.schema import SCHEMA_PATH, genome_schema, schema_json

VALIDATOR = jsonschema.Draft202012Validator(genome_schema())


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(genome_schema())


def test_shipped_schema_file_is_in_sync() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_json(), (
        "genome.schema.json is stale: run `python -m autotsnet.models.schema`"
    )


@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_genome_validates(name: str) -> None:
    data = json.loads(zoo.get(name).to_json())
    errors = [e.message for e in VALIDATOR.iter_errors(data)]
    assert errors == []


def test_minimal_genome_with_defaults_validates_and_loads() -> None:
    data = json.loads(zoo.get("x3d_s").to_json())
    sparse = data["sparse"]
    minimal = {
        "sparse": {
            "input": {k: sparse["input"][k] for k in ("frames", "temporal_stride")},
            "stem": {"width": sparse["stem"]["width"]},
            "groups": sparse["groups"],
        }
    }
    assert list(VALIDATOR.iter_errors(minimal)) == []
    assert Genome.from_dict(minimal).sparse.groups == zoo.get("x3d_s").sparse.groups


def _mutated(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(json.loads(zoo.get("auto_tsnet_s").to_json()))
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


BAD: dict[str, tuple[tuple[str | int, ...], Any]] = {
    "unknown field": (("sparse", "colour"), "red"),
    "wrong type": (("sparse", "groups", 0, "width"), "wide"),
    "bad kernel": (("sparse", "groups", 0, "temporal_kernel"), 4),
    "bad expansion": (("dense", "groups", 2, "expansion"), 2.0),
    "bad fusion op": (("fusion", 0), "sum"),
    "future schema": (("schema_version",), SCHEMA_VERSION + 1),
    "zero depth": (("sparse", "groups", 1, "depth"), 0),
    "missing field": (("sparse",), {"groups": []}),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_schema_and_genome_reject_the_same_bad_fields(case: str) -> None:
    data = _mutated(*BAD[case])
    assert list(VALIDATOR.iter_errors(data)), f"schema accepted {case}"
    with pytest.raises(GenomeError):
        Genome.from_dict(data)


def test_descriptions_come_from_docstrings() -> None:
    schema = genome_schema()
    group = schema["$defs"]["GroupGene"]
    assert group["required"] == [
        "temporal_kernel",
        "spatial_kernel",
        "width",
        "expansion",
        "depth",
        "stride",
        "stage",
    ]
    assert "depthwise" in group["properties"]["temporal_kernel"]["description"]
    assert schema["properties"]["schema_version"]["maximum"] == SCHEMA_VERSION
