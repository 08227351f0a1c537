"""Everything a training run checks before it touches the run folder.

:func:`prepare_inputs` opens the datasets, applies the overwrite guard and picks the
checkpoint to resume from, raising one clear error when anything does not fit. It only
reads, so every DDP process runs it before rank 0 writes anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autotsnet.data import ClassMap, DataError, VideoItem, open_dataset
from autotsnet.models.genome import Genome, GenomeError
from autotsnet.train.checkpoint import (
    CheckpointError,
    input_spec,
    latest_checkpoint,
    list_checkpoints,
)
from autotsnet.train.config import TrainConfig
from autotsnet.train.distributed import DistInfo
from autotsnet.train.errors import TrainError
from autotsnet.train.rundir import check_run_dir

__all__ = ["RunInputs", "check_classes", "prepare_inputs"]

logger = logging.getLogger(__name__)


@dataclass
class RunInputs:
    """Validated inputs of a run.

    Attributes:
        genome: The architecture.
        data: Training data source.
        val_data: Separate validation source, if any.
        out: Run folder.
        config: Hyper-parameters.
        train_items: Training videos.
        val_items: Validation videos (empty: no validation).
        class_map: Classes in label order.
        input: Per-stream input description for checkpoints.
        resume_state: The checkpoint to continue from, or None for a fresh run.
        resume_path: Its file.
        overwrite: Clear the run folder's entries before writing (fresh runs only).
    """

    genome: Genome
    data: str | Path
    val_data: str | Path | None
    out: Path
    config: TrainConfig
    train_items: list[VideoItem]
    val_items: list[VideoItem]
    class_map: ClassMap
    input: dict[str, dict[str, Any]]
    resume_state: dict[str, Any] | None
    resume_path: Path | None
    overwrite: bool

    @property
    def fresh(self) -> bool:
        """True when the run starts from step 0."""
        return self.resume_state is None


def _open_val(
    data: str | Path, val_data: str | Path | None, class_map: ClassMap
) -> list[VideoItem]:
    if val_data is not None:
        return open_dataset(val_data, "val", class_map=class_map)[0]
    if not Path(data).is_dir():
        logger.info("%s is a list file: no validation (pass val_data for one)", data)
        return []
    try:
        return open_dataset(data, "val", class_map=class_map)[0]
    except DataError as exc:
        logger.warning("no validation split (%s); training without validation", exc)
        return []


def check_classes(
    data: str | Path, class_map: ClassMap, names: list[str], checkpoint: Path
) -> None:
    """Raise :class:`TrainError` when the dataset's classes differ from a checkpoint's."""
    if list(class_map.names) == list(names):
        return
    if len(class_map) != len(names):
        raise TrainError(
            f"{data}: dataset has {len(class_map)} classes but checkpoint {checkpoint} "
            f"was trained on {len(names)}"
        )
    diff = next(i for i, (a, b) in enumerate(zip(class_map.names, names, strict=True)) if a != b)
    raise TrainError(
        f"{data}: class {diff} is {class_map.names[diff]!r} in the dataset but "
        f"{names[diff]!r} in checkpoint {checkpoint}"
    )


def _check_resume(
    path: Path,
    state: dict[str, Any],
    inputs: tuple[Genome, ClassMap, TrainConfig, str | Path],
    info: DistInfo,
) -> None:
    genome, class_map, config, data = inputs
    try:
        stored = Genome.from_json(str(state["genome"]))
    except GenomeError as exc:
        raise CheckpointError(f"{path}: stored genome is invalid: {exc}") from None
    if stored.genome_id != genome.genome_id:
        raise TrainError(
            f"{path}: holds genome {stored.name or '?'} ({stored.genome_id}), not "
            f"{genome.name or '?'} ({genome.genome_id}); pass the same genome or another --out"
        )
    check_classes(data, class_map, list(state["class_names"]), path)
    saved_cfg = dict(state["config"])
    world = int(saved_cfg.pop("world_size", 1))
    diffs = config.differences(TrainConfig.from_dict(saved_cfg))
    if diffs:
        raise TrainError(
            f"{path}: options differ from the run being resumed ({'; '.join(diffs[:3])}); "
            "repeat the original options"
        )
    if world != info.world_size and info.is_main:
        logger.warning(
            "resuming a %d-process run with %d processes: same batches, but BN statistics "
            "differ, so the result is not bit-exact",
            world,
            info.world_size,
        )


def prepare_inputs(
    genome: Genome,
    data: str | Path,
    out: Path,
    config: TrainConfig,
    info: DistInfo,
    *,
    resume: bool,
    overwrite: bool,
    val_data: str | Path | None,
) -> RunInputs:
    """Validate everything and open the data (read-only; see the module docstring)."""
    check_run_dir(out, resume=resume, overwrite=overwrite)
    if config.batch_size % info.world_size:
        raise TrainError(
            f"--batch-size {config.batch_size} (global) does not split over "
            f"{info.world_size} processes"
        )
    if genome.head.hidden_norm == "bn" and config.batch_size // info.world_size < 2:
        raise TrainError(
            f"--batch-size {config.batch_size} over {info.world_size} process(es): the "
            "genome's head.hidden_norm 'bn' needs at least 2 clips per process and batch"
        )
    train_items, class_map = open_dataset(data, "train")
    val_items = _open_val(data, val_data, class_map)
    state, path = None, None
    if resume:
        ckpts = out / "checkpoints"
        found = latest_checkpoint(ckpts, warn=logger.warning if info.is_main else _quiet)
        if found is not None:
            path, state = found
            _check_resume(path, state, (genome, class_map, config, data), info)
            if info.is_main:
                logger.info(
                    "resuming from %s (epoch %d, batch %d, step %d)",
                    path, state["epoch"], state["batch"], state["step"],
                )  # fmt: skip
        elif list_checkpoints(ckpts):
            raise TrainError(
                f"{ckpts}: no usable checkpoint to resume from; pass --overwrite to start over"
            )
        elif info.is_main:
            logger.info("no checkpoint in %s yet: starting from step 0", out)
    return RunInputs(
        genome=genome,
        data=data,
        val_data=val_data,
        out=out,
        config=config,
        train_items=train_items,
        val_items=val_items,
        class_map=class_map,
        input=input_spec(genome),
        resume_state=state,
        resume_path=path,
        # --resume without any checkpoint restarts: leftovers of a run that never reached
        # its first checkpoint are replaced.
        overwrite=overwrite or (resume and state is None),
    )


def _quiet(message: str) -> None:
    del message
