"""Training configuration: one typed, JSON-able value saved with every run and checkpoint.

Defaults follow the paper's final training (SGD, lr 0.4, cosine) and X3D's recipe (weight
decay 5e-5 and none on BN or bias, momentum 0.9, linear warmup, precise-BN with 200
batches). ``batch_size`` is the *global* batch: under DDP every one of ``W`` processes
takes ``batch_size / W`` clips per step, so a run gives the same steps whatever ``W`` is.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from autotsnet.train.errors import TrainError

__all__ = [
    "ADAMW_LR",
    "OPTIMIZERS",
    "RESUMABLE_FIELDS",
    "AmpMode",
    "OptimizerName",
    "TrainConfig",
    "load_run_config",
]

AmpMode = Literal["auto", "bf16", "fp16", "off"]
OptimizerName = Literal["sgd", "adamw"]
OPTIMIZERS: tuple[str, ...] = ("sgd", "adamw")
ADAMW_LR = 0.01
"""Peak lr the CLIs use with ``adamw`` when none is given (the default 0.4 is an SGD rate)."""

RESUMABLE_FIELDS: frozenset[str] = frozenset(
    {"workers", "device", "ckpt_every_steps", "keep_last", "log_every"}
)
"""Fields a resumed run may change; changing any other field changes the trajectory."""


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything that decides a training run (besides the genome and the data).

    Attributes:
        epochs: Passes over the training set.
        batch_size: Global clips per optimizer step (split evenly over DDP processes).
        lr: Peak learning rate, reached after warmup (paper: 0.4); scale it linearly
            with ``batch_size``.
        optimizer: ``sgd`` (the paper's, with momentum) or ``adamw`` (betas 0.9/0.999,
            the same decoupled weight decay groups). AdamW reaches useful accuracy in far
            fewer steps on tiny CPU models (docs/training.md); use lr ~1e-2 with it.
        momentum: SGD momentum (ignored by ``adamw``).
        weight_decay: L2 penalty on conv and linear weights; never on BN or bias.
        nesterov: Nesterov momentum.
        warmup_epochs: Linear warmup length in epochs (fractions allowed); None means
            X3D's ratio, 35 of 300 epochs (see :attr:`warmup`).
        warmup_start: Learning rate at step 0 as a fraction of ``lr``.
        min_lr: Final learning rate of the cosine as a fraction of ``lr``.
        label_smoothing: Label smoothing of the cross-entropy.
        workers: DataLoader worker processes per training process.
        seed: Seed of initialisation, data order, augmentation and dropout.
        amp: Mixed precision on CUDA: ``auto`` (bf16 where supported, else fp16), ``bf16``,
            ``fp16`` or ``off``. Always off on CPU.
        clip_grad: Max global gradient norm (0 = no clipping).
        precise_bn: Batches used to recompute BN statistics at each epoch end (0 = off).
        ckpt_every_steps: Also checkpoint every this many steps (0 = epoch ends only).
        keep_last: Checkpoints kept in ``RUN_DIR/checkpoints``.
        log_every: Steps between step records in ``metrics.jsonl`` / TensorBoard.
        flip: Random horizontal flip (switch off for direction-sensitive classes).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        deterministic: Ask cuDNN for deterministic algorithms (slower on CUDA).
        sync_bn: Synchronise BatchNorm statistics across DDP processes (CUDA only; on CPU
            every process normalises over its own share of the batch).
    """

    epochs: int = 300
    batch_size: int = 128
    lr: float = 0.4
    optimizer: OptimizerName = "sgd"
    momentum: float = 0.9
    weight_decay: float = 5e-5
    nesterov: bool = False
    warmup_epochs: float | None = None
    warmup_start: float = 0.025
    min_lr: float = 0.0
    label_smoothing: float = 0.0
    workers: int = 4
    seed: int = 0
    amp: AmpMode = "auto"
    clip_grad: float = 0.0
    precise_bn: int = 200
    ckpt_every_steps: int = 1000
    keep_last: int = 3
    log_every: int = 10
    flip: bool = True
    device: str = "auto"
    deterministic: bool = False
    sync_bn: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`TrainError` naming the first out-of-range field."""
        positive = ("epochs", "batch_size", "keep_last", "log_every")
        for name in positive:
            if getattr(self, name) < 1:
                _bad(name, getattr(self, name), "must be >= 1")
        non_negative = (
            "weight_decay",
            "workers",
            "clip_grad",
            "precise_bn",
            "ckpt_every_steps",
            "seed",
        )
        for name in non_negative:
            if getattr(self, name) < 0:
                _bad(name, getattr(self, name), "must be >= 0")
        if not self.lr > 0:
            _bad("lr", self.lr, "must be > 0")
        if not 0 <= self.momentum < 1:
            _bad("momentum", self.momentum, "must be in [0, 1)")
        if not 0 <= self.label_smoothing < 1:
            _bad("label_smoothing", self.label_smoothing, "must be in [0, 1)")
        for name in ("warmup_start", "min_lr"):
            if not 0 <= getattr(self, name) <= 1:
                _bad(name, getattr(self, name), "must be a fraction of lr in [0, 1]")
        if self.optimizer not in OPTIMIZERS:
            _bad("optimizer", self.optimizer, f"must be one of {', '.join(OPTIMIZERS)}")
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            _bad("amp", self.amp, "must be one of auto, bf16, fp16, off")
        if self.warmup_epochs is not None and not 0 <= self.warmup_epochs <= self.epochs:
            _bad("warmup_epochs", self.warmup_epochs, f"must be in [0, epochs={self.epochs}]")
        dev = self.device
        if dev not in ("auto", "cpu", "cuda") and not (
            dev.startswith("cuda:") and dev[5:].isdigit()
        ):
            _bad("device", dev, "must be auto, cpu, cuda or cuda:N")

    @property
    def warmup(self) -> float:
        """Warmup epochs in effect: ``warmup_epochs``, or ``epochs * 35 / 300``."""
        if self.warmup_epochs is None:
            return self.epochs * 35 / 300
        return self.warmup_epochs

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys raise :class:`TrainError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise TrainError(f"train config: unknown field {unknown[0]!r}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise TrainError(f"train config: {exc}") from None

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def differences(self, other: TrainConfig) -> list[str]:
        """``"name X (run: Y)"`` for every field outside :data:`RESUMABLE_FIELDS` where this
        config has X and ``other`` (the run being resumed) has Y."""
        out = []
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name not in RESUMABLE_FIELDS and a != b:
                out.append(f"{f.name} {a!r} (run: {b!r})")
        return out


def _bad(name: str, value: object, why: str) -> None:
    raise TrainError(f"train config: {name} = {value!r}: {why}")


def load_run_config(run_dir: Path) -> TrainConfig | None:
    """The config a run in ``run_dir`` was started with (``config.json``), or None.

    Raises:
        TrainError: If ``config.json`` exists but is unreadable or invalid.
    """
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return TrainConfig.from_dict(data["train"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrainError(f"{path}: not a valid run config ({exc})") from None
