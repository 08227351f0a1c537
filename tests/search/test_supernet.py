"""Supernet / subnet equality, weight sharing and BN recalibration."""

from __future__ import annotations

import random
from typing import Any

import pytest
import torch
from torch import nn

from autotsnet.models.space import SearchSpace
from autotsnet.search.supernet import Supernet, SupernetError, recalibrate_bn


def _perturbed(space: SearchSpace, mode: str) -> Supernet:
    torch.manual_seed(0)
    net = Supernet(space.max_cost_genome(), num_classes=5, kernel_mode=mode)  # type: ignore[arg-type]
    for name, m in net.named_modules():  # zero-init gammas would hide wrong slices
        if isinstance(m, nn.BatchNorm3d | nn.BatchNorm1d):
            assert m.running_mean is not None and m.running_var is not None
            small = "blocker" in name  # keep stacked GloRe units numerically tame
            m.weight.data.uniform_(0.01, 0.05) if small else m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net


def _clips(two: bool) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    xs = torch.randn(2, 3, 2, 32, 32, generator=g)
    return (xs, torch.randn(2, 3, 8, 32, 32, generator=g)) if two else (xs,)


@pytest.mark.parametrize(
    ("mode", "head_norm"), [("crop", "none"), ("separate", "none"), ("crop", "bn")]
)
def test_subnet_equals_supernet(tiny_space: SearchSpace, mode: str, head_norm: str) -> None:
    if head_norm != "none":
        tiny_space = SearchSpace.table1(scale="tiny", hidden_norm="bn")
    net = _perturbed(tiny_space, mode)
    assert isinstance(net.head_bn, nn.BatchNorm1d) == (head_norm == "bn")
    rng = random.Random(0)
    genomes = [
        tiny_space.sample(rng, step="sparse", base=tiny_space.base_for_step("sparse")),
        tiny_space.sample(rng),
        tiny_space.sample(rng),
        tiny_space.max_cost_genome(),
    ]
    outs = []
    for g in genomes:
        clips = _clips(g.dense is not None)
        net.eval()
        sub = net.subnet(g).eval()
        assert isinstance(sub.get_submodule("classifier.bn"), nn.BatchNorm1d) == (head_norm == "bn")
        a = net(clips, g)
        torch.testing.assert_close(a, sub(*clips), atol=1e-5, rtol=1e-5)
        outs.append(a)
        net.train()
        sub = net.subnet(g).train()
        torch.manual_seed(3)
        a = net(clips, g)
        torch.manual_seed(3)
        torch.testing.assert_close(a, sub(*clips), atol=1e-5, rtol=1e-5)
        outs.append(a)
        assert (a[0] - a[1]).abs().max() > 1e-4  # the output depends on the input
    # different genomes compute different functions (so equality is not trivial)
    assert (outs[3] - outs[5]).abs().max() > 1e-4


def test_kernels_share_weights_in_crop_mode(tiny_space: SearchSpace) -> None:
    net = Supernet(tiny_space.max_cost_genome(), num_classes=3, kernel_mode="crop")
    groups: Any = net.sparse.groups
    dw = groups[0][0].conv_b
    big = dw.kernel(4, 5, 5)
    torch.testing.assert_close(dw.kernel(4, 1, 3), big[:, :, 2:3, 1:4, 1:4])
    sep = Supernet(tiny_space.max_cost_genome(), num_classes=3, kernel_mode="separate")
    n_crop = sum(p.numel() for p in net.parameters())
    n_sep = sum(p.numel() for p in sep.parameters())
    assert n_sep > n_crop


def test_genome_outside_supernet_is_rejected(tiny_space: SearchSpace) -> None:
    net = Supernet(tiny_space.base, num_classes=3)
    big = tiny_space.max_cost_genome()
    with pytest.raises(SupernetError, match="width"):
        net.subnet(big)


def test_recalibrate_bn_matches_batch_statistics(tiny_space: SearchSpace) -> None:
    net = Supernet(tiny_space.max_cost_genome(), num_classes=3)
    g = tiny_space.base_for_step("sparse")
    sub = net.subnet(g)
    x = torch.randn(8, 3, 2, 32, 32)
    used = recalibrate_bn(sub, [x[:4], x[4:]], max_batches=10)
    assert used == 2
    sparse: Any = sub.sparse
    stem = sparse.stem
    stem_bn = stem.bn
    with torch.no_grad():
        feat = stem.conv_t(stem.conv_xy(x))
    assert stem_bn.running_mean is not None
    torch.testing.assert_close(
        stem_bn.running_mean, feat.mean(dim=(0, 2, 3, 4)), atol=1e-5, rtol=1e-4
    )


def test_evaluation_context_equals_eval_and_restores_modes(tiny_space: SearchSpace) -> None:
    net = _perturbed(tiny_space, "crop")
    g = tiny_space.sample(random.Random(5))
    clips = _clips(True)
    net.eval()
    want = net(clips, g)
    net.train()
    before = {name: m.training for name, m in net.named_modules()}
    with net.evaluation():
        got = net(clips, g)
        got_again = net(clips, g)  # cached columns and checks give the same result
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(got_again, want)
    assert {name: m.training for name, m in net.named_modules()} == before
    assert all(before.values())
    torch.manual_seed(0)
    train_out = net(clips, g)  # back in training mode: batch statistics, dropout
    assert (train_out - want).abs().max() > 1e-4
