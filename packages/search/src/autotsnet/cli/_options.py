"""Shared CLI parameters (``Annotated`` aliases) and the genome-argument loader."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from autotsnet.infer.runtime import PROVIDERS
from autotsnet.models import zoo
from autotsnet.models.genome import Genome, load_genome

__all__ = [
    "AggOpt",
    "GenomeArg",
    "JsonOpt",
    "ProviderOpt",
    "Scale",
    "ScaleOpt",
    "ThreadsOpt",
    "load_genome_arg",
    "load_target",
]

GenomeArg = Annotated[
    str,
    typer.Argument(
        metavar="NAME|FILE.json",
        help="A zoo model name (see `autotsnet zoo list`) or a genome JSON file.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
AggOpt = Annotated[str, typer.Option(help="mean or max of the per-view softmax.")]
ProviderOpt = Annotated[str, typer.Option(help=f"ONNX Runtime provider: {', '.join(PROVIDERS)}.")]
ThreadsOpt = Annotated[int | None, typer.Option(help="ONNX Runtime intra-op threads.")]


class Scale(StrEnum):
    """Scale of the Table 1 search space."""

    full = "full"
    tiny = "tiny"


ScaleOpt = Annotated[
    Scale, typer.Option("--scale", help="Paper-sized space or the tiny CPU-sized twin.")
]


def _looks_like_path(text: str) -> bool:
    return text.endswith(".json") or "/" in text or "\\" in text or Path(text).is_file()


def load_target(text: str) -> tuple[Genome, zoo.ZooEntry | None]:
    """Resolve a genome argument to ``(genome, zoo entry or None)``.

    A path-like argument (ends in ``.json``, contains a separator, or names an existing file)
    is read with :func:`load_genome`; anything else is looked up in the zoo.

    Raises:
        GenomeError: Missing, unreadable or invalid genome file (message starts with the path).
        UnknownModelError: Unknown zoo name (message lists the known names).
    """
    if _looks_like_path(text):
        return load_genome(text), None
    item = zoo.entry(text)
    return item.genome, item


def load_genome_arg(text: str) -> Genome:
    """The genome a ``NAME|FILE.json`` argument names (see :func:`load_target`)."""
    return load_target(text)[0]
