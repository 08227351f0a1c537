"""The run folder: what a training run writes, the overwrite guard and the description files.

Layout of ``RUN_DIR``::

    config.json       the TrainConfig, data source, genome name and world size
    genome.json       the genome being trained
    classes.json      the class map
    metrics.jsonl     step and epoch records            tb/   TensorBoard event files
    checkpoints/      step-*.pt (the last k)            final.pt   the finished model
    plots/            loss.png, accuracy.png, lr.png    report.json   the final summary
    failures/         damaged videos met while loading (one jsonl per process)

Nothing in an existing run is replaced unless the caller asks for ``overwrite`` (which
deletes exactly these entries) or ``resume``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from autotsnet.data.classmap import ClassMap, atomic_write_text
from autotsnet.models.genome import Genome
from autotsnet.train.config import TrainConfig
from autotsnet.train.errors import TrainError

__all__ = [
    "RUN_ENTRIES",
    "check_run_dir",
    "clear_run_dir",
    "existing_entries",
    "write_json",
    "write_run_files",
]

RUN_ENTRIES: tuple[str, ...] = (
    "config.json",
    "genome.json",
    "classes.json",
    "metrics.jsonl",
    "tb",
    "checkpoints",
    "final.pt",
    "plots",
    "report.json",
    "failures",
)


def existing_entries(run_dir: Path) -> list[str]:
    """Run entries already present in ``run_dir``."""
    return [name for name in RUN_ENTRIES if (Path(run_dir) / name).exists()]


def check_run_dir(run_dir: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse to start a fresh run over an existing one (read-only check).

    Raises:
        TrainError: ``run_dir`` is a file, or holds a run and neither flag is given.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise TrainError(f"{run_dir}: exists and is not a directory")
    if resume and overwrite:
        raise TrainError("--resume and --overwrite exclude each other")
    found = existing_entries(run_dir) if run_dir.is_dir() else []
    if found and not (resume or overwrite):
        raise TrainError(
            f"{run_dir}: already holds a run ({', '.join(found[:3])}); "
            "pass --resume to continue it or --overwrite to replace it"
        )


def clear_run_dir(run_dir: Path) -> None:
    """Delete the entries of a previous run (and nothing else)."""
    for name in RUN_ENTRIES:
        p = Path(run_dir) / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()


def write_json(path: Path, data: Any) -> None:
    """Write indented JSON atomically."""
    atomic_write_text(Path(path), json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_run_files(
    run_dir: Path,
    *,
    genome: Genome,
    class_map: ClassMap,
    config: TrainConfig,
    data: str,
    val_data: str | None,
    world_size: int,
) -> None:
    """Write ``config.json``, ``genome.json`` and ``classes.json``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(
        run_dir / "config.json",
        {
            "train": config.to_dict(),
            "data": data,
            "val_data": val_data,
            "genome": genome.name,
            "genome_id": genome.genome_id,
            "world_size": world_size,
        },
    )
    atomic_write_text(run_dir / "genome.json", genome.to_json() + "\n")
    class_map.save(run_dir / "classes.json")
