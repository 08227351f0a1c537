"""Export heads: logits, per-view softmax, or in-graph view averaging.

=============  =============================================  ==============================
head           graph inputs (per stream)                      output
=============  =============================================  ==============================
``logits``     ``(N, 3, T, H, W)``, N = videos x views        ``logits (N, classes)``
``softmax``    ``(N, 3, T, H, W)``                            ``probs (N, classes)``
``view_mean``  ``(B, V, 3, T, H, W)``                         ``probs (B, classes)``: mean of
                                                              the V per-view softmaxes
=============  =============================================  ==============================

``view_mean`` is MMDeploy's multi-view wrapper: one request carries all views of a video and
the aggregation happens inside the graph (what ``autotsnet eval --agg mean`` computes).
"""

from __future__ import annotations

import torch
from torch import nn

from autotsnet.infer.spec import Head

__all__ = ["ExportHead", "output_name", "wrap"]


def output_name(head: Head) -> str:
    """Name of the graph output for ``head``."""
    return "logits" if head == "logits" else "probs"


class ExportHead(nn.Module):
    """Wrap a network (forward takes one clip per stream) with an export head.

    Args:
        model: The network.
        head: ``logits``, ``softmax`` or ``view_mean``.
    """

    def __init__(self, model: nn.Module, head: Head) -> None:
        super().__init__()
        if head not in ("logits", "softmax", "view_mean"):
            raise ValueError(f"unknown head {head!r}")
        self.model = model
        self.head = head

    def forward(self, sparse: torch.Tensor, dense: torch.Tensor | None = None) -> torch.Tensor:
        """Apply the network and the head (shapes in the module docstring).

        Explicit arguments (not ``*clips``) so that ``torch.export`` sees one tensor per input.
        """
        clips = (sparse,) if dense is None else (sparse, dense)
        if self.head != "view_mean":
            out: torch.Tensor = self.model(*clips)
            return out if self.head == "logits" else out.softmax(dim=1)
        b, v = clips[0].shape[0], clips[0].shape[1]
        folded = [c.reshape(-1, *c.shape[2:]) for c in clips]
        logits: torch.Tensor = self.model(*folded)
        probs = logits.softmax(dim=1)
        return probs.reshape(b, v, probs.shape[-1]).mean(dim=1)


def wrap(model: nn.Module, head: Head) -> nn.Module:
    """``model`` with ``head`` applied (see :class:`ExportHead`)."""
    return ExportHead(model, head)
