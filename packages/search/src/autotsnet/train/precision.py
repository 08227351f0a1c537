"""Device numerics of a run: the AMP dtype and cuDNN settings (CUDA only)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import torch

from autotsnet.train.config import TrainConfig

__all__ = ["amp_dtype", "cudnn_settings"]

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def cudnn_settings(config: TrainConfig, device: torch.device) -> Iterator[None]:
    """Deterministic cuDNN when asked, else benchmark mode; restored on exit."""
    if device.type != "cuda":
        yield
        return
    old = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic = config.deterministic
    torch.backends.cudnn.benchmark = not config.deterministic
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = old


def amp_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    """The autocast dtype (None = full precision); AMP is CUDA only."""
    if device.type != "cuda" or config.amp == "off":
        if config.amp in ("bf16", "fp16"):
            logger.warning("--amp %s is ignored on %s (CUDA only)", config.amp, device)
        return None
    if config.amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if config.amp == "bf16" else torch.float16
