"""``train``: train a genome from scratch with exact resume and DDP (paper §5.2 recipe).

One optimizer step per global batch; the per-step schedule, data order, augmentation and
dropout are all functions of the seed and the step, so a run killed at any point and
resumed from its newest checkpoint ends with the same weights as an uninterrupted run
(bit-exact on CPU with the same world size)::

    for epoch:                          data order: ShardSampler(seed + epoch), skip on resume
        for batch:  forward (AMP) -> CE loss -> backward -> clip -> SGD -> lr step
                    every log_every: metrics.jsonl + TensorBoard (rank 0)
                    every ckpt_every_steps: checkpoint (rank 0, atomic, keep last k)
        precise BN -> validation (centre clip) -> epoch record -> checkpoint
    final.pt, plots/*.png, report.json
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from autotsnet.data import ClipDataset, TrainTransform, make_loader, sampling_from_genome
from autotsnet.data.failures import FailureLog
from autotsnet.models.blocks.head import ClassifierHead
from autotsnet.models.builder import build_model
from autotsnet.models.genome import Genome
from autotsnet.train.checkpoint import checkpoint_path, prune_checkpoints, save_checkpoint
from autotsnet.train.config import TrainConfig
from autotsnet.train.distributed import (
    DistInfo,
    ShardSampler,
    all_reduce_sum,
    barrier,
    init_distributed,
    resolve_device,
    same_on_all_ranks,
)
from autotsnet.train.errors import TrainError
from autotsnet.train.metrics import MetricsLog
from autotsnet.train.optim import build_optimizer, build_scheduler
from autotsnet.train.precise_bn import recalibrate_bn
from autotsnet.train.precision import amp_dtype, cudnn_settings
from autotsnet.train.progress import RunProgress
from autotsnet.train.report import build_report, finish_run
from autotsnet.train.rundir import clear_run_dir, write_run_files
from autotsnet.train.seeding import capture_rng_state, restore_rng_state, seeded_rng
from autotsnet.train.setup import RunInputs, prepare_inputs
from autotsnet.train.validation import validate

__all__ = ["train"]

logger = logging.getLogger(__name__)


def train(
    genome: Genome,
    data: str | Path,
    out: Path,
    config: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    val_data: str | Path | None = None,
    dist: DistInfo | None = None,
) -> dict[str, Any]:
    """Train ``genome`` on ``data`` and write the run to ``out``.

    Args:
        genome: The architecture (trained from scratch).
        data: Training data (see :func:`autotsnet.data.open_dataset`); a directory with a
            ``val`` split is also validated on.
        out: Run folder (see :mod:`autotsnet.train.rundir`).
        config: Hyper-parameters.
        resume: Continue from the newest usable checkpoint in ``out`` (a fresh start when
            there is none yet).
        overwrite: Delete an existing run in ``out`` first.
        progress: Show rich progress bars (rank 0).
        val_data: Separate validation data (default: the ``val`` split of ``data``).
        dist: Rank and world size under torchrun (default: one process).

    Returns:
        The ``report.json`` content (complete on rank 0).

    Raises:
        TrainError: Existing run without resume/overwrite, options or classes that do not
            match the checkpoint, a batch that does not split over the processes.
        DataError: Missing, empty or malformed dataset.
    """
    info = dist or DistInfo()
    device = resolve_device(config.device, info.local_rank)
    created = init_distributed(info, device)
    try:
        with seeded_rng(config.seed, device), cudnn_settings(config, device):
            inputs = prepare_inputs(
                genome,
                data,
                Path(out),
                config,
                info,
                resume=resume,
                overwrite=overwrite,
                val_data=val_data,
            )
            return _Trainer(inputs, device, info, progress=progress).run()
    finally:
        if created:
            torch.distributed.destroy_process_group()


class _Trainer:
    """State of one running training job (built by :func:`train`)."""

    def __init__(
        self, inputs: RunInputs, device: torch.device, info: DistInfo, *, progress: bool
    ) -> None:
        self.x, self.cfg, self.device, self.info = inputs, inputs.config, device, info
        self.out, self.ckpt_dir = inputs.out, inputs.out / "checkpoints"
        self.amp = amp_dtype(self.cfg, device)
        self.per_rank = self.cfg.batch_size // info.world_size
        self.net = build_model(inputs.genome, num_classes=len(inputs.class_map)).to(device)
        if self.cfg.sync_bn and info.distributed:
            if device.type == "cuda":
                convert = torch.nn.SyncBatchNorm.convert_sync_batchnorm
                self.net = convert(self.net)  # type: ignore[no-untyped-call]
            elif info.is_main:
                logger.warning("--sync-bn needs CUDA; each process keeps its own BN statistics")
        self.model: torch.nn.Module = self.net
        self.optimizer = build_optimizer(self.net, self.cfg)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp == torch.float16)
        self._build_loaders()
        self.scheduler = build_scheduler(self.optimizer, self.cfg, self.steps_per_epoch)
        zeros = torch.zeros(3, dtype=torch.float64, device=device)
        self.epoch_stats, self.window_stats = zeros.clone(), zeros.clone()
        self.epoch, self.batch, self.step = 0, 0, 0
        if inputs.resume_state is not None:
            self._restore(inputs.resume_state)
        if info.distributed:
            ids = [device.index] if device.type == "cuda" else None
            self.model = DistributedDataParallel(self.net, device_ids=ids)
        self.show_progress = progress and info.is_main
        self.last_lr = float(self.optimizer.param_groups[0]["lr"])
        self._bar_loss = float("nan")
        self._window_start = time.perf_counter()

    # ------------------------------------------------------------------ setup
    def _build_loaders(self) -> None:
        x, cfg = self.x, self.cfg
        samplings = sampling_from_genome(x.genome)
        transform = TrainTransform.from_input_spec(x.genome.sparse.input, flip=cfg.flip)
        log = FailureLog(self.out / "failures")
        self.train_set = ClipDataset(
            x.train_items, samplings, transform, seed=cfg.seed, train=True, failure_log=log
        )
        self.sampler = ShardSampler(len(x.train_items), self.info, seed=cfg.seed)
        self.steps_per_epoch = len(self.sampler) // self.per_rank
        if self.steps_per_epoch < 1:
            raise TrainError(
                f"{x.data}: {len(x.train_items)} training videos make no full batch of "
                f"{cfg.batch_size}; lower --batch-size"
            )
        pin = self.device.type == "cuda"
        self.train_loader = make_loader(
            self.train_set,
            self.per_rank,
            workers=cfg.workers,
            shuffle=False,
            seed=cfg.seed,
            pin_memory=pin,
            drop_last=True,
            sampler=self.sampler,
        )
        shard = x.val_items[self.info.rank :: self.info.world_size]
        self.has_val = bool(x.val_items)
        self.val_loader = None
        if shard:
            val_set = ClipDataset(
                shard, samplings, transform, seed=cfg.seed, train=False, failure_log=log
            )
            self.val_loader = make_loader(
                val_set,
                self.per_rank,
                workers=cfg.workers,
                shuffle=False,
                seed=cfg.seed,
                pin_memory=pin,
            )

    def _restore(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        restore_rng_state(state["rng"], self.device)
        self.epoch, self.batch, self.step = state["epoch"], state["batch"], state["step"]
        if self.info.is_main:  # the saved sums are already totals over all processes
            self.epoch_stats.copy_(state["stats"]["epoch"].to(self.device))
            self.window_stats.copy_(state["stats"]["window"].to(self.device))

    def _autocast(self) -> AbstractContextManager[Any]:
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def _to_device(self, batch: Any) -> tuple[list[torch.Tensor], torch.Tensor]:
        clips, labels = batch
        nb = self.device.type == "cuda"
        moved = [c.to(self.device, non_blocking=nb) for c in clips]
        return moved, labels.to(self.device, non_blocking=nb)

    # ------------------------------------------------------------------ the run
    def run(self) -> dict[str, Any]:
        """Train the remaining epochs and write the final files."""
        x, cfg = self.x, self.cfg
        if x.fresh and self.info.is_main:
            if x.overwrite:
                clear_run_dir(self.out)
            write_run_files(
                self.out,
                genome=x.genome,
                class_map=x.class_map,
                config=cfg,
                data=str(x.data),
                val_data=None if x.val_data is None else str(x.val_data),
                world_size=self.info.world_size,
            )
        barrier(self.info)
        resume_at = None if x.fresh else (self.epoch, self.step)
        self.metrics = MetricsLog(self.out, enabled=self.info.is_main, resume_at=resume_at)
        total = cfg.epochs * self.steps_per_epoch
        started = time.perf_counter()
        finished_before = self.epoch >= cfg.epochs  # the same on every process
        try:
            with RunProgress(enabled=self.show_progress, total=total, done=self.step) as bar:
                self.bar = bar
                for epoch in range(self.epoch, cfg.epochs):
                    self._epoch(epoch)
                if finished_before:  # resumed after the end: make sure final.pt exists
                    self._checkpoint(final=True)
        finally:
            self.metrics.close()
        report = build_report(
            x,
            steps=self.step,
            steps_per_epoch=self.steps_per_epoch,
            world_size=self.info.world_size,
            device=str(self.device),
            amp="off" if self.amp is None else str(self.amp).removeprefix("torch."),
            params=sum(p.numel() for p in self.net.parameters()),
            elapsed_s=time.perf_counter() - started,
            failures=self.train_set.failure_log.summary() if self.info.is_main else None,
            ranks_in_sync=same_on_all_ranks(self.net, self.info),
        )
        if self.info.is_main:
            finish_run(self.out, report)
        barrier(self.info)
        return report

    def _epoch(self, epoch: int) -> None:
        cfg, n = self.cfg, self.steps_per_epoch
        t0 = time.perf_counter()
        self.model.train()
        self.train_loader.sampler.set_epoch(epoch)  # type: ignore[attr-defined]
        self.sampler.skip_next(self.batch * self.per_rank)
        self.bar.start_pass(f"epoch {epoch + 1}/{cfg.epochs}", n, done=self.batch)
        batches = iter(self.train_loader)
        for b in range(self.batch, n):
            self._train_step(next(batches))
            self.step, self.batch = self.step + 1, b + 1
            if self.step % cfg.log_every == 0:
                self._log_step(epoch)
            self.bar.advance(loss=self._bar_loss, lr=self.last_lr)
            if cfg.ckpt_every_steps and self.step % cfg.ckpt_every_steps == 0 and b + 1 < n:
                self._checkpoint()
        del batches
        used = self._precise_bn(epoch)
        val = self._validate()
        totals = all_reduce_sum(self.epoch_stats, self.info)
        count = max(float(totals[2]), 1.0)
        scores = {"train_loss": float(totals[0]) / count, "train_top1": float(totals[1]) / count}
        scores |= val
        record = {
            "type": "epoch",
            "epoch": epoch + 1,
            "step": self.step,
            **scores,
            "val_videos": len(self.x.val_items),
            "lr": self.last_lr,
            "precise_bn_batches": used,
            "epoch_time_s": round(time.perf_counter() - t0, 3),
        }
        self.metrics.write(record, scalars={f"epoch/{k}": v for k, v in scores.items()})
        if self.info.is_main:
            shown = "  ".join(
                f"{k} {v}" if isinstance(v, int) else f"{k} {v:.4f}" for k, v in scores.items()
            )
            self.bar.note(f"epoch {epoch + 1}/{cfg.epochs}: {shown}")
        self.epoch_stats.zero_()
        self.epoch, self.batch = epoch + 1, 0
        self._checkpoint(final=self.epoch == cfg.epochs)

    def _train_step(self, batch: Any) -> None:
        clips, labels = self._to_device(batch)
        with self._autocast():
            logits = self.model(*clips)
        loss = F.cross_entropy(logits.float(), labels, label_smoothing=self.cfg.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        scaled: torch.Tensor = self.scaler.scale(loss)
        scaled.backward()  # type: ignore[no-untyped-call]
        if self.cfg.clip_grad > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg.clip_grad)
        self.last_lr = float(self.optimizer.param_groups[0]["lr"])
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        with torch.no_grad():
            n = labels.numel()
            correct = (logits.argmax(1) == labels).sum()
            update = torch.stack([loss.detach().double() * n, correct.double()])
            update = torch.cat([update, update.new_tensor([float(n)])])
        self.epoch_stats += update
        self.window_stats += update
        self._bar_loss = float(loss.detach()) if self.show_progress else float("nan")

    def _log_step(self, epoch: int) -> None:
        w = all_reduce_sum(self.window_stats, self.info)
        loss = float(w[0]) / max(float(w[2]), 1.0)
        if not math.isfinite(loss):
            raise TrainError(
                f"loss became {loss} at step {self.step}: training diverged; "
                "lower --lr or set --clip-grad"
            )
        now = time.perf_counter()
        rate = self.cfg.log_every / max(now - self._window_start, 1e-9)
        self._window_start = now
        record = {
            "type": "step",
            "epoch": epoch + 1,
            "step": self.step,
            "loss": loss,
            "lr": self.last_lr,
            "steps_per_s": round(rate, 3),
        }
        self.metrics.write(record, scalars={"train/loss": loss, "train/lr": self.last_lr})
        self.window_stats.zero_()

    def _precise_bn(self, epoch: int) -> int:
        if self.cfg.precise_bn < 1:
            return 0
        self.train_loader.sampler.set_epoch(epoch)  # type: ignore[attr-defined]
        forward: Callable[[Any], None] = lambda batch: self.net(*self._to_device(batch)[0])  # noqa: E731
        return recalibrate_bn(
            self.net,
            self.train_loader,
            num_batches=min(self.cfg.precise_bn, self.steps_per_epoch),
            forward=forward,
            autocast=self._autocast,
            info=self.info,
        )

    def _validate(self) -> dict[str, float]:
        if not self.has_val:
            return {}
        batches = (self._to_device(b) for b in (self.val_loader or ()))
        # the head's dropout sees the hidden ReLU's output (with or without the head's BN)
        found = getattr(self.model, "classifier", None)
        head = found if isinstance(found, ClassifierHead) else None
        scores = validate(
            self.net,
            batches,
            num_classes=len(self.x.class_map),
            autocast=self._autocast,
            info=self.info,
            device=self.device,
            hidden=head.dropout if head is not None else None,
            hidden_width=head.fc1.out_features if head is not None else None,
        )
        self.model.train()
        if scores.get("head_alive_units") == 0 and self.info.is_main:
            logger.warning(
                "step %d: no hidden unit of the classifier head is active on the validation "
                "clips (dead ReLUs): the network gives every clip the same logits and will "
                "not learn again; see docs/training.md",
                self.step,
            )
        return scores

    def _checkpoint(self, *, final: bool = False) -> None:
        # Collective: every process takes part in the reductions, only rank 0 writes.
        stats = {
            "epoch": all_reduce_sum(self.epoch_stats, self.info).cpu(),
            "window": all_reduce_sum(self.window_stats, self.info).cpu(),
        }
        if not self.info.is_main:
            return
        state = {
            "genome": self.x.genome.to_json(),
            "class_names": list(self.x.class_map.names),
            "input": self.x.input,
            "model": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": capture_rng_state(self.device),
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "stats": stats,
            "config": {**self.cfg.to_dict(), "world_size": self.info.world_size},
        }
        self.metrics.flush()
        save_checkpoint(checkpoint_path(self.ckpt_dir, self.step), state)
        prune_checkpoints(self.ckpt_dir, self.cfg.keep_last)
        if final:
            save_checkpoint(self.out / "final.pt", state)
