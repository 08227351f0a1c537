"""Search settings, their validation, and the plan of steps they imply."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, get_args

from autotsnet.models.genome import HiddenNorm
from autotsnet.models.space import SCALES, STEPS
from autotsnet.search.dynamic import KernelMode
from autotsnet.search.parsec import BASELINES, Baseline, Importance
from autotsnet.train.config import OPTIMIZERS

__all__ = [
    "ADDED_FIELDS",
    "SearchConfig",
    "SearchError",
    "StepPlan",
    "complete_fingerprint",
    "parse_steps",
    "plan_steps",
]


class SearchError(ValueError):
    """Bad search input (targets, steps, data, resume directory); one line."""


@dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Settings of ``autotsnet search`` (defaults follow spec §2.4 where it gives values).

    Attributes:
        targets_gflops: FLOPs target (GFLOPs per view at the search crop) of each step.
        epochs: Epochs of each step (alpha and weights updated).
        warmup_epochs: Weights-only epochs at the start of each step, before its alpha
            updates: architectures are drawn from the step's still-uniform alpha and weighted
            equally (``()``: none, as in the paper; one value: every step; else one per step;
            one-step mode runs their sum). The paper trains alpha from the first epoch; at
            short CPU budgets the supernet needs these epochs to give PARSEC an accuracy
            signal (``docs/search.md``).
        steps: Progressive steps, an ordered subset of ``sparse, dense, attention``.
        one_step: Search all listed steps' variables at once (Table 9 ablation) with the last
            target and the sum of the epochs.
        samples: K architectures per iteration and rank.
        importance: ``"accuracy"`` or ``"likelihood"``.
        temperature: Divides log-likelihoods before their softmax.
        beta: Weight of the hinge FLOPs penalty.
        lr_weights: Learning rate of the shared weights (cosine per step).
        optimizer: Optimizer of the shared weights: ``sgd`` (spec §2.4) or ``adamw``
            (betas 0.9/0.999; the tiny CPU scale learns in far fewer steps with it, use
            ``lr_weights`` ~1e-2).
        momentum: SGD momentum (ignored by ``adamw``).
        weight_decay: Weight decay of the shared weights.
        lr_alpha: Adam learning rate of alpha (weight decay 0).
        space_scale: ``"full"`` (Table 1) or ``"tiny"``.
        frames: (sparse, dense) frames, or None for the space's own.
        crop: Training crop, or None for the space's own.
        kernel_mode: Depthwise kernel sharing of the supernet.
        seed: Seed of sampling, data order and dropout.
        max_iters: Cap on iterations per epoch (None: one pass over the weight split).
        flip: Random horizontal flips of the weight-training clips. Switch it off for
            direction-sensitive classes (the built-in synthetic dataset's left/right): a
            flipped "left" clip shows a "right" motion with a "left" label. Read by
            :class:`autotsnet.search.data.VideoSearchData` (the CLI passes it on); part of
            the fingerprint, so a resumed search keeps it.
        alpha_batch_size: Clips each sampled architecture is scored on per iteration (the
            alpha / validation batch); None: as many as the weight batch. The paper does not
            fix it; a smaller one shortens the no-grad scoring forward, at the price of a
            coarser score (see ``docs/search.md`` for measurements).
        baseline: ``"none"`` (the papers' self-normalised estimator) or ``"mean"`` (each
            sample's alpha coefficient centred on the samples' mean: same expected update,
            less noise; needs at least 2 samples per iteration over all ranks). See
            :func:`autotsnet.search.parsec.alpha_coefficients`.
        head_norm: The classifier head's ``hidden_norm`` in the supernet and every genome
            it yields: ``"none"`` (X3D's head, the paper's) or ``"bn"`` (a BatchNorm1d
            before the hidden ReLU, so its units cannot die; see ``docs/search.md``).
    """

    targets_gflops: tuple[float, ...]
    epochs: tuple[int, ...]
    warmup_epochs: tuple[int, ...] = ()
    steps: tuple[str, ...] = STEPS
    one_step: bool = False
    samples: int = 8
    importance: Importance = "accuracy"
    temperature: float = 1.0
    beta: float = 1.0
    lr_weights: float = 0.4
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 5e-5
    lr_alpha: float = 0.025
    space_scale: str = "full"
    frames: tuple[int, int] | None = None
    crop: int | None = None
    kernel_mode: KernelMode = "crop"
    seed: int = 0
    max_iters: int | None = None
    alpha_batch_size: int | None = None
    flip: bool = True
    baseline: Baseline = "none"
    head_norm: HiddenNorm = "none"

    def fingerprint(self) -> dict[str, Any]:
        """Everything that changes the result (a resumed run must match it)."""
        return {k: _plain(v) for k, v in dataclasses.asdict(self).items()}


def _plain(value: Any) -> Any:
    """A fingerprint value as JSON and checkpoints keep it (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


ADDED_FIELDS: tuple[str, ...] = (
    "alpha_batch_size",
    "baseline",
    "flip",
    "head_norm",
    "optimizer",
    "warmup_epochs",
)
"""Settings added after the first release. Their defaults reproduce what a search did before
they existed, so a checkpoint whose fingerprint lacks one ran with the default."""


def complete_fingerprint(saved: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's fingerprint with the defaults of :data:`ADDED_FIELDS` it predates."""
    defaults = {f.name: f.default for f in dataclasses.fields(SearchConfig)}
    missing = {k: _plain(v) for k, v in defaults.items() if k in ADDED_FIELDS and k not in saved}
    return {**missing, **saved}


@dataclass(frozen=True)
class StepPlan:
    """One search step: its variables, the genome layout it runs, target and epochs.

    ``warmup_epochs`` weights-only epochs run first, then ``epochs`` PARSEC epochs.
    """

    name: str
    var_steps: tuple[str, ...]
    prev_steps: tuple[str, ...]
    model_step: str
    target_gflops: float
    epochs: int
    warmup_epochs: int = 0

    @property
    def total_epochs(self) -> int:
        """Warm-up and PARSEC epochs of the step."""
        return self.warmup_epochs + self.epochs


def parse_steps(text: str) -> tuple[str, ...]:
    """Parse ``"sparse,dense,attention"``; raise :class:`SearchError` if invalid."""
    steps = tuple(s.strip() for s in text.split(",") if s.strip())
    if not steps:
        raise SearchError("--steps is empty; use a subset of sparse,dense,attention")
    for s in steps:
        if s not in STEPS:
            raise SearchError(f"--steps: unknown step {s!r}; use a subset of {','.join(STEPS)}")
    if len(set(steps)) != len(steps) or list(steps) != sorted(steps, key=STEPS.index):
        raise SearchError(
            f"--steps {text!r}: steps must be unique and in the order {','.join(STEPS)}"
        )
    return steps


def plan_steps(config: SearchConfig) -> list[StepPlan]:
    """The steps a config runs; raises :class:`SearchError` on inconsistent settings."""
    steps = parse_steps(",".join(config.steps))
    if config.space_scale not in SCALES:
        raise SearchError(
            f"--space-scale {config.space_scale!r}: must be one of {', '.join(SCALES)}"
        )
    if config.optimizer not in OPTIMIZERS:
        raise SearchError(f"--optimizer {config.optimizer!r}: must be {' or '.join(OPTIMIZERS)}")
    if config.samples < 1:
        raise SearchError(f"--samples {config.samples}: must be at least 1")
    if config.baseline not in BASELINES:
        raise SearchError(f"--baseline {config.baseline!r}: must be {' or '.join(BASELINES)}")
    if config.head_norm not in get_args(HiddenNorm):
        raise SearchError(
            f"--head-norm {config.head_norm!r}: must be {' or '.join(get_args(HiddenNorm))}"
        )
    if config.alpha_batch_size is not None and config.alpha_batch_size < 1:
        raise SearchError(f"--alpha-batch-size {config.alpha_batch_size}: must be at least 1")
    if any(t <= 0 for t in config.targets_gflops) or any(e < 1 for e in config.epochs):
        raise SearchError("--target-gflops must be positive and --epochs at least 1")
    n = len(steps)
    if len(config.epochs) != n or len(config.targets_gflops) != n:
        raise SearchError(
            f"{n} steps ({','.join(steps)}) need {n} --target-gflops and {n} --epochs values, "
            f"got {len(config.targets_gflops)} and {len(config.epochs)}"
        )
    if config.warmup_epochs and len(config.warmup_epochs) not in (1, n):
        raise SearchError(
            f"--warmup-epochs needs one value or {n} (one per step), "
            f"got {len(config.warmup_epochs)}"
        )
    if any(w < 0 for w in config.warmup_epochs):
        raise SearchError("--warmup-epochs must be 0 or more")
    warm = config.warmup_epochs or (0,)
    warmup = warm * n if len(warm) == 1 else warm
    frames = config.frames
    if frames is not None and (min(frames) < 1 or frames[1] % frames[0]):
        raise SearchError(
            f"--frames {frames}: both must be positive and dense frames a multiple of sparse"
        )
    if config.one_step:
        return [
            StepPlan(
                "one_step",
                steps,
                (),
                steps[-1],
                config.targets_gflops[-1],
                sum(config.epochs),
                sum(warmup),
            )
        ]
    return [
        StepPlan(s, (s,), steps[:i], s, config.targets_gflops[i], config.epochs[i], warmup[i])
        for i, s in enumerate(steps)
    ]
