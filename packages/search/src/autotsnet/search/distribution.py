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
        # (V, max choices) gather index into ``cat(theta, [-inf])``: row v holds variable v's
        # logits, padded with the -inf slot (probability 0), so one softmax, one multinomial
        # and one gather serve every variable (a Python loop over ~100 variables cost more
        # than the alpha update itself)
        width = max(self.sizes)
        pad = torch.full((len(self.sizes), width), self.offsets[-1], dtype=torch.long)
        for i, n in enumerate(self.sizes):
            pad[i, :n] = torch.arange(self.offsets[i], self.offsets[i] + n)
        self._padded: torch.Tensor
        self.register_buffer("_padded", pad, persistent=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Variable names in order."""
        return tuple(v.name for v in self.variables)

    def logits(self, i: int) -> torch.Tensor:
        """Logits of variable ``i``."""
        return self.theta[self.offsets[i] : self.offsets[i + 1]]

    def _padded_logits(self) -> torch.Tensor:
        """``(V, max choices)`` logits, -inf past each variable's own choices."""
        ninf = torch.full((1,), -math.inf, dtype=self.theta.dtype, device=self.theta.device)
        return torch.cat([self.theta, ninf])[self._padded]

    def probs(self) -> list[torch.Tensor]:
        """``pi_v = softmax(theta_v)`` for every variable."""
        table = torch.softmax(self._padded_logits(), dim=1)
        return [table[i, :n] for i, n in enumerate(self.sizes)]

    def sample(self, k: int, generator: torch.Generator) -> torch.Tensor:
        """Draw ``k`` architectures: a ``(k, V)`` long tensor of choice indices.

        One multinomial over the ``(V, max choices)`` table draws the same indices from
        ``generator`` as one call per variable would (padding has probability 0).
        """
        with torch.no_grad():
            table = torch.softmax(self._padded_logits(), dim=1).cpu()
            rows = torch.multinomial(table, k, replacement=True, generator=generator)
        return rows.t().contiguous()

    def log_prob(self, indices: torch.Tensor) -> torch.Tensor:
        """``log P(A_k | alpha)`` for each row of ``indices`` (differentiable in theta)."""
        logp = torch.log_softmax(self._padded_logits(), dim=1)  # (V, max choices)
        idx = indices.to(self.theta.device)
        return logp.gather(1, idx.t()).sum(dim=0)

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
