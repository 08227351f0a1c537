"""JSON Schema (draft 2020-12) of the genome file format, generated from the dataclasses.

The schema is derived from :class:`~autotsnet.models.genome.Genome`'s type hints, defaults and
``Attributes:`` docstrings, plus the value sets the genome validates against (kernels,
expansions, strides, ...). A copy is shipped as ``genome.schema.json`` next to this module for
editors and other languages; a test keeps it equal to :func:`genome_schema`. Regenerate it
with ``python -m autotsnet.models.schema``.

The schema covers field-level rules only; cross-field rules (equal group counts, fusion
length, frame multiples) are checked by :meth:`Genome.validate`.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from autotsnet.models.genome import (
    ACTIVATIONS,
    EXPANSIONS,
    SCHEMA_VERSION,
    SPATIAL_KERNELS,
    STEM_TEMPORAL_KERNELS,
    STRIDES,
    TEMPORAL_KERNELS,
    Genome,
    GloReGene,
    GroupGene,
    HeadGene,
    InputSpec,
    StemGene,
    StreamGene,
)

__all__ = ["SCHEMA_ID", "SCHEMA_PATH", "genome_schema", "main", "schema_json"]

SCHEMA_PATH = Path(__file__).with_name("genome.schema.json")
"""The shipped copy of the schema."""

SCHEMA_ID = f"https://autotsnet.dev/schemas/genome-v{SCHEMA_VERSION}.json"

_POSITIVE: dict[str, Any] = {"minimum": 1}

# Field-level rules of genome.py's ``validate`` methods, expressed in JSON Schema.
_CONSTRAINTS: dict[tuple[type, str], dict[str, Any]] = {
    **{(InputSpec, f.name): _POSITIVE for f in dataclasses.fields(InputSpec)},
    (StemGene, "width"): _POSITIVE,
    (StemGene, "temporal_kernel"): {"enum": list(STEM_TEMPORAL_KERNELS)},
    (GroupGene, "temporal_kernel"): {"enum": list(TEMPORAL_KERNELS)},
    (GroupGene, "spatial_kernel"): {"enum": list(SPATIAL_KERNELS)},
    (GroupGene, "width"): _POSITIVE,
    (GroupGene, "expansion"): {"enum": list(EXPANSIONS)},
    (GroupGene, "depth"): _POSITIVE,
    (GroupGene, "stride"): {"enum": list(STRIDES)},
    (GroupGene, "stage"): _POSITIVE,
    (StreamGene, "groups"): {"minItems": 1},
    (StreamGene, "glore_after"): {"uniqueItems": True, "items": {"minimum": 0}},
    (StreamGene, "se_ratio"): {"minimum": 0, "exclusiveMaximum": 1},
    (StreamGene, "activation"): {"enum": list(ACTIVATIONS)},
    (GloReGene, "state_ratio"): {"exclusiveMinimum": 0, "maximum": 8},
    (GloReGene, "node_ratio"): {"exclusiveMinimum": 0, "maximum": 8},
    (HeadGene, "conv_expansion"): {"exclusiveMinimum": 0, "maximum": 16},
    (HeadGene, "hidden"): _POSITIVE,
    (HeadGene, "dropout"): {"minimum": 0, "exclusiveMaximum": 1},
    (Genome, "schema_version"): {"minimum": 1, "maximum": SCHEMA_VERSION},
}


def _attribute_docs(cls: type) -> dict[str, str]:
    """Parse a Google-style ``Attributes:`` section into ``{name: one-paragraph text}``."""
    doc = cls.__doc__ or ""
    match = re.search(r"^\s*Attributes:\s*$(.*)", doc, flags=re.M | re.S)
    if not match:
        return {}
    out: dict[str, str] = {}
    current = ""
    for line in match.group(1).splitlines():
        item = re.match(r"^\s{4,8}(\w+): (.*)$", line)
        if item and len(line) - len(line.lstrip()) <= 8:
            current = item.group(1)
            out[current] = item.group(2).strip()
        elif current and line.strip():
            out[current] += " " + line.strip()
        elif not line.strip() and current:
            current = ""
    return out


def _summary(cls: type) -> str:
    return (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")


def _type_schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a, defs) for a in get_args(tp)]}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin is tuple:
        return {"type": "array", "items": _type_schema(get_args(tp)[0], defs)}
    if dataclasses.is_dataclass(tp):
        assert isinstance(tp, type)
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # reserve the name before recursing
            defs[tp.__name__] = _object_schema(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    simple = {int: "integer", float: "number", str: "string", bool: "boolean"}
    if tp is type(None):
        return {"type": "null"}
    if tp in simple:
        return {"type": simple[tp]}
    raise TypeError(f"no JSON Schema for genome field type {tp!r}")  # pragma: no cover


def _default(f: dataclasses.Field[Any]) -> tuple[bool, Any]:
    if f.default is not dataclasses.MISSING:
        return True, f.default
    if f.default_factory is not dataclasses.MISSING:
        return True, f.default_factory()
    return False, None


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _object_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    hints = get_type_hints(cls)
    docs = _attribute_docs(cls)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        prop = _type_schema(hints[f.name], defs)
        extra = dict(_CONSTRAINTS.get((cls, f.name), {}))
        if "items" in extra and "items" in prop:
            prop["items"] = {**prop["items"], **extra.pop("items")}
        prop.update(extra)
        if f.name in docs:
            prop["description"] = docs[f.name]
        has_default, default = _default(f)
        if has_default:
            prop["default"] = _plain(default)
        else:
            required.append(f.name)
        props[f.name] = prop
    return {
        "type": "object",
        "description": _summary(cls),
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def genome_schema() -> dict[str, Any]:
    """The JSON Schema of a genome file (a plain dict, draft 2020-12)."""
    defs: dict[str, Any] = {}
    root = _object_schema(Genome, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "autotsnet genome",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def schema_json() -> str:
    """The schema as canonical JSON text (2-space indent, trailing newline)."""
    return json.dumps(genome_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Rewrite the shipped ``genome.schema.json`` from the dataclasses."""
    SCHEMA_PATH.write_text(schema_json(), encoding="utf-8")


if __name__ == "__main__":
    main()
