"""Optimizer groups, the warmup + cosine schedule, the config and the resumable sampler."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from autotsnet.models import Genome, build_model
from autotsnet.train.config import TrainConfig
from autotsnet.train.distributed import DistInfo, ShardSampler
from autotsnet.train.errors import TrainError
from autotsnet.train.optim import build_optimizer, build_scheduler, lr_factor


def test_no_weight_decay_on_bn_or_bias(tiny_two_stream: Genome) -> None:
    model = build_model(tiny_two_stream, num_classes=5)
    opt = build_optimizer(model, TrainConfig(weight_decay=1e-4, momentum=0.9))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 1e-4 and no_decay["weight_decay"] == 0.0
    decay_ids = {id(p) for p in decay["params"]}
    no_decay_ids = {id(p) for p in no_decay["params"]}
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm3d | nn.BatchNorm1d):
            assert id(module.weight) in no_decay_ids and id(module.bias) in no_decay_ids, name
        if isinstance(module, nn.Conv3d | nn.Linear):
            assert id(module.weight) in decay_ids, name
            if module.bias is not None:
                assert id(module.bias) in no_decay_ids, name
    assert len(decay_ids) + len(no_decay_ids) == len(list(model.parameters()))
    assert opt.param_groups[0]["momentum"] == 0.9


def test_adamw_keeps_the_decay_groups(tiny_two_stream: Genome) -> None:
    model = build_model(tiny_two_stream, num_classes=5)
    opt = build_optimizer(model, TrainConfig(optimizer="adamw", lr=1e-2, weight_decay=1e-4))
    assert isinstance(opt, torch.optim.AdamW)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 1e-4 and no_decay["weight_decay"] == 0.0
    assert decay["lr"] == no_decay["lr"] == 1e-2
    sgd = build_optimizer(model, TrainConfig())
    assert isinstance(sgd, torch.optim.SGD)


def test_warmup_then_cosine() -> None:
    f = [lr_factor(s, total=100, warmup=10, warmup_start=0.1, min_lr=0.01) for s in range(101)]
    assert f[0] == pytest.approx(0.1)
    assert f[5] == pytest.approx(0.1 + 0.9 * 0.5)
    assert f[10] == pytest.approx(1.0)
    assert f[55] == pytest.approx(0.01 + 0.99 * 0.5)
    assert f[100] == pytest.approx(0.01)
    assert all(a < b for a, b in itertools.pairwise(f[:11]))
    assert all(a >= b for a, b in itertools.pairwise(f[10:]))


def test_scheduler_steps_per_step() -> None:
    param = nn.Parameter(torch.zeros(1))
    cfg = TrainConfig(epochs=4, lr=0.4, warmup_epochs=1, warmup_start=0.0, min_lr=0.0)
    opt = torch.optim.SGD([param], lr=cfg.lr)
    sched = build_scheduler(opt, cfg, steps_per_epoch=5)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == 0.0 and lrs[5] == pytest.approx(0.4)
    assert lrs[-1] == pytest.approx(0.4 * 0.5 * (1 + math.cos(math.pi * 14 / 15)))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"epochs": 0}, "epochs"),
        ({"lr": -1.0}, "lr"),
        ({"amp": "fp8"}, "amp"),
        ({"device": "tpu"}, "device"),
        ({"warmup_epochs": 10, "epochs": 5}, "warmup_epochs"),
        ({"warmup_epochs": -1.0}, "warmup_epochs"),
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"optimizer": "adam"}, "optimizer"),
    ],
)
def test_config_rejects_bad_values(changes: dict[str, object], field: str) -> None:
    with pytest.raises(TrainError, match=f"train config: {field} ="):
        TrainConfig(**changes)  # type: ignore[arg-type]


def test_default_warmup_keeps_x3d_ratio() -> None:
    assert TrainConfig(epochs=300).warmup == pytest.approx(35.0)
    assert TrainConfig(epochs=30).warmup == pytest.approx(3.5)
    assert TrainConfig(epochs=30, warmup_epochs=0).warmup == 0


def test_config_roundtrip_and_differences() -> None:
    cfg = TrainConfig(epochs=3, batch_size=8)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    other = cfg.replace(workers=9, lr=0.1)
    assert cfg.differences(other) == ["lr 0.4 (run: 0.1)"]  # workers may change on resume
    with pytest.raises(TrainError, match="unknown field 'bogus'"):
        TrainConfig.from_dict({"bogus": 1})


def test_shard_sampler_skip_matches_uninterrupted_order() -> None:
    full = ShardSampler(23, DistInfo(1, 2, 1), seed=5)
    full.set_epoch(3)
    order = list(full)
    resumed = ShardSampler(23, DistInfo(1, 2, 1), seed=5)
    resumed.set_epoch(3)
    resumed.skip_next(4)
    assert list(resumed) == order[4:]
    assert list(resumed) == order  # the skip applies to one pass only
    # the two ranks' shards of a step together are the single-process batch
    one = ShardSampler(24, DistInfo(), seed=5)
    one.set_epoch(0)
    r0, r1 = ShardSampler(24, DistInfo(0, 2), seed=5), ShardSampler(24, DistInfo(1, 2), seed=5)
    r0.set_epoch(0)
    r1.set_epoch(0)
    a, b, single = list(r0), list(r1), list(one)
    for step in range(3):
        assert set(a[4 * step : 4 * step + 4]) | set(b[4 * step : 4 * step + 4]) == set(
            single[8 * step : 8 * step + 8]
        )
