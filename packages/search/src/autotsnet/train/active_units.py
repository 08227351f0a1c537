"""Which output units of a layer are positive on at least one input: dead-ReLU detection.

The classifier head's hidden layer gets only non-negative inputs (pooled ReLU features), so
AdamW can push a unit below zero for every clip, after which it gets no gradient again. The
training loop and the search count live units with :class:`ActiveUnits`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import torch
from torch import nn

__all__ = ["ActiveUnits"]


class ActiveUnits:
    """Context manager: while open, records which outputs of ``module`` are ever > 0.

    The last dimension of the module's output is the unit; every other dimension is a row.
    ``mask`` is the boolean "positive on some row" vector (None before any forward).
    """

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.mask: torch.Tensor | None = None
        self._handle: Any = None

    def __enter__(self) -> ActiveUnits:
        self._handle = self.module.register_forward_hook(self._seen)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._handle.remove()

    def _seen(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        now = (output.detach() > 0).flatten(0, -2).any(dim=0)
        self.mask = now if self.mask is None else self.mask | now

    @property
    def count(self) -> int:
        """How many units were positive on at least one row (0 before any forward)."""
        return 0 if self.mask is None else int(self.mask.sum())
