"""PARSEC's architecture distribution: an independent categorical per search variable.

``P(A | alpha) = prod_v softmax(theta_v)[A_v]`` (spec §2.1). The logits of all variables live in
one flat parameter; ``offsets`` locate each variable's slice. Samples are index tensors
``(K, V)``; :meth:`ArchDistribution.assignment` turns a row into ``{name: value}`` for
:meth:`autotsnet.models.space.SearchSpace.decode`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from autotsnet.models.space import Variable

__all__ = ["ArchDistribution"]


class ArchDistribution(nn.Module):
    """Independent categoricals over ``variables``, logits initialised to 0 (uniform).

    Args:
        variables: The searched variables (e.g. ``space.variables("sparse")``).
    """

    def __init__(self, variables: Sequence[Variable]) -> None:
        super().__init__()
        if not variables:
            raise ValueError("an architecture distribution needs at least one variable")
        self.variables = tuple(variables)
        self.sizes = [len(v.choices) for v in self.variables]
        self.offsets = [0]
        for n in self.sizes:
            self.offsets.append(self.offsets[-1] + n)
        self.theta = nn.Parameter(torch.zeros(self.offsets[-1]))
        seg = torch.repeat_interleave(torch.arange(len(self.sizes)), torch.tensor(self.sizes))
        self.register_buffer("segment", seg, persistent=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Variable names in order."""
        return tuple(v.name for v in self.variables)

    def logits(self, i: int) -> torch.Tensor:
        """Logits of variable ``i``."""
        return self.theta[self.offsets[i] : self.offsets[i + 1]]

    def probs(self) -> list[torch.Tensor]:
        """``pi_v = softmax(theta_v)`` for every variable."""
        return [torch.softmax(self.logits(i), 0) for i in range(len(self.sizes))]

    def sample(self, k: int, generator: torch.Generator) -> torch.Tensor:
        """Draw ``k`` architectures: a ``(k, V)`` long tensor of choice indices."""
        with torch.no_grad():
            cols = [
                torch.multinomial(p.cpu(), k, replacement=True, generator=generator)
                for p in self.probs()
            ]
        return torch.stack(cols, dim=1)

    def log_prob(self, indices: torch.Tensor) -> torch.Tensor:
        """``log P(A_k | alpha)`` for each row of ``indices`` (differentiable in theta)."""
        logp = torch.cat([torch.log_softmax(self.logits(i), 0) for i in range(len(self.sizes))])
        flat = indices.to(self.theta.device) + torch.tensor(
            self.offsets[:-1], device=self.theta.device
        )
        return logp[flat].sum(dim=1)

    def entropy(self) -> float:
        """``H = sum_v H(pi_v)`` in nats."""
        with torch.no_grad():
            return float(sum(-(p * torch.log(p.clamp_min(1e-12))).sum() for p in self.probs()))

    def max_entropy(self) -> float:
        """Entropy of the uniform distribution: ``sum_v log |D_v|``."""
        return sum(math.log(n) for n in self.sizes)

    def argmax(self) -> torch.Tensor:
        """The most probable architecture, ``(V,)`` indices (ties: the first, cheapest)."""
        with torch.no_grad():
            return torch.stack([torch.argmax(p) for p in self.probs()])

    def assignment(self, indices: torch.Tensor) -> dict[str, Any]:
        """``{variable name: value}`` for one row of indices."""
        return {
            v.name: v.choices[int(j)] for v, j in zip(self.variables, indices.tolist(), strict=True)
        }

    def snapshot(self) -> dict[str, list[float]]:
        """Probabilities per variable, JSON-able (for logs and heatmaps)."""
        with torch.no_grad():
            return {
                v.name: [round(float(x), 5) for x in p]
                for v, p in zip(self.variables, self.probs(), strict=True)
            }
