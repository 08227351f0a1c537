"""Epoch-end validation: scores, and the count of live hidden units in the classifier head."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from autotsnet.models.blocks.head import ClassifierHead
from autotsnet.train.distributed import DistInfo
from autotsnet.train.validation import validate


class _Net(nn.Module):
    """Pooled, non-negative features (as after the stream heads) into the classifier head."""

    def __init__(self) -> None:
        super().__init__()
        self.classifier = ClassifierHead(6, 8, 3, 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.classifier([torch.relu(x)])
        return out


def _batches(seed: int) -> list[tuple[list[torch.Tensor], torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [([torch.randn(5, 6, generator=g)], torch.tensor([0, 1, 2, 0, 1])) for _ in range(2)]


def test_dead_head_units_are_counted() -> None:
    torch.manual_seed(0)
    net = _Net()
    kw = {
        "num_classes": 3,
        "autocast": contextlib.nullcontext,
        "info": DistInfo(rank=0, world_size=1, local_rank=0),
        "device": torch.device("cpu"),
    }
    plain = validate(net, _batches(0), **kw)  # type: ignore[arg-type]
    assert "head_alive_units" not in plain
    fc1 = net.classifier.fc1
    scores = validate(net, _batches(0), hidden=fc1, **kw)  # type: ignore[arg-type]
    assert scores["head_hidden_units"] == 8 and 0 < scores["head_alive_units"] <= 8
    assert {k: scores[k] for k in plain} == plain  # the count does not change the scores
    with torch.no_grad():  # inputs are >= 0: all-negative rows switch a unit off for good
        fc1.weight[:3] = -fc1.weight[:3].abs() - 0.1
        fc1.weight[3:] = fc1.weight[3:].abs() + 0.1
    assert validate(net, _batches(1), hidden=fc1, **kw)["head_alive_units"] == 5  # type: ignore[arg-type]
    with torch.no_grad():
        fc1.weight.copy_(-fc1.weight.abs() - 0.1)
    dead = validate(net, _batches(1), hidden=fc1, **kw)  # type: ignore[arg-type]
    assert dead["head_alive_units"] == 0
