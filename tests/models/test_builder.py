"""Builder tests: every zoo genome builds and trains on a tiny twin; full-size shapes."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from autotsnet.models import build_model, shrink, zoo
from autotsnet.models.blocks.glore import GloRe3D
from autotsnet.models.blocks.head import ClassifierHead
from autotsnet.models.blocks.mbconv import MBConv3D
from autotsnet.models.blocks.se import SqueezeExcite
from autotsnet.models.builder import SingleStreamNet, TwoStreamNet, VideoNet
from autotsnet.models.genome import Genome

NUM_CLASSES = 7


def _clips(genome: Genome, batch: int, crop: int, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch, 3, s.input.frames, crop, crop, generator=gen)
        for s in genome.streams.values()
    ]


def _wake_zero_init(net: nn.Module) -> None:
    """Give zero-initialised BN gammas (block ends, GloRe) a value so every weight gets a
    gradient signal: with gamma = 0 the branch before it would see an exact zero gradient."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm3d) and not m.weight.any():
                m.weight.fill_(0.5)


@pytest.mark.parametrize("name", zoo.names())
def test_tiny_twin_trains(name: str) -> None:
    genome = shrink(zoo.get(name))
    torch.manual_seed(0)
    net = build_model(genome, num_classes=NUM_CLASSES)
    assert net.num_streams == len(genome.streams)
    _wake_zero_init(net)
    net.train()
    clips = _clips(genome, batch=2, crop=genome.sparse.input.train_crop)
    logits = net(*clips)
    assert logits.shape == (2, NUM_CLASSES)
    assert torch.isfinite(logits).all()
    target = torch.arange(2) % NUM_CLASSES
    nn.functional.cross_entropy(logits, target).backward()  # type: ignore[no-untyped-call]
    for pname, p in net.named_parameters():
        assert p.grad is not None, f"{name}: no gradient for {pname}"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient for {pname}"
        assert p.grad.abs().sum() > 0, f"{name}: zero gradient for {pname}"


@pytest.mark.parametrize("name", ["x3d_s", "manual_tsnet_70", "auto_tsnet_s"])
def test_full_size_output_shape(name: str) -> None:
    genome = zoo.get(name)
    torch.manual_seed(0)
    net = build_model(genome).eval()
    with torch.no_grad():
        logits = net(*_clips(genome, batch=1, crop=64))
    assert logits.shape == (1, 400)
    assert torch.isfinite(logits).all()


def test_two_stream_topology_follows_genome() -> None:
    genome = zoo.get("auto_tsnet_s")
    net = build_model(genome)
    assert isinstance(net, TwoStreamNet)
    glore = [n for n, m in net.named_modules() if isinstance(m, GloRe3D)]
    assert glore == [f"sparse.attention.{i}" for i in genome.sparse.glore_after]
    assert genome.dense is not None
    blocks = sum(isinstance(m, MBConv3D) for m in net.dense.modules())
    assert blocks == genome.dense.num_blocks


def test_x3d_squeeze_excite_on_every_other_block_per_stage() -> None:
    genome = zoo.get("x3d_s")
    net = build_model(genome)
    assert isinstance(net, SingleStreamNet)
    for group, gene in zip(net.sparse.groups, genome.sparse.groups, strict=True):
        blocks = list(group.children())
        assert all(isinstance(b, MBConv3D) for b in blocks)
        has_se = [isinstance(b.se, SqueezeExcite) for b in blocks if isinstance(b, MBConv3D)]
        assert has_se == [j % 2 == 0 for j in range(gene.depth)]
    n_se = sum(isinstance(m, SqueezeExcite) for m in net.modules())
    assert n_se == sum(math.ceil(g.depth / 2) for g in genome.sparse.groups)


def test_builder_is_deterministic_under_a_seed() -> None:
    genome = shrink(zoo.get("auto_tsnet_s"))

    def build() -> VideoNet:
        torch.manual_seed(123)
        return build_model(genome, num_classes=NUM_CLASSES)

    a, b = build().state_dict(), build().state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bad_num_classes() -> None:
    with pytest.raises(ValueError, match="num_classes = 0"):
        build_model(zoo.get("x3d_xs"), num_classes=0)


def _alive_after_training(hidden_norm: str, seed: int) -> int:
    """Train a lone classifier head with AdamW on non-negative features (pooled ReLU
    outputs, as in the network); return its hidden units positive on some held-out row."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    head = ClassifierHead(48, 32, 4, 0.5, hidden_norm)
    opt = torch.optim.AdamW(head.parameters(), lr=0.01, weight_decay=5e-5)
    centers = torch.rand(4, 48, generator=g)

    def batch(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, 4, (n,), generator=g)
        return centers[y] + 0.5 * torch.rand(n, 48, generator=g), y

    for _ in range(300):
        x, y = batch(16)
        loss = nn.functional.cross_entropy(head([x]), y)
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
    head.eval()
    x, _ = batch(256)
    with torch.no_grad():
        hidden = head.relu(head.bn(head.fc1(x)))
    return int((hidden > 0).any(dim=0).sum())


@pytest.mark.parametrize("seed", [0])
def test_head_batch_norm_keeps_every_hidden_unit_alive(seed: int) -> None:
    # X3D's head loses hidden units for good on this easy task (they never recover); with
    # the BatchNorm1d every unit stays positive on part of the data
    assert _alive_after_training("none", seed) < 28
    assert _alive_after_training("bn", seed) == 32


def test_head_batch_norm_is_built_from_the_genome() -> None:
    plain = shrink(zoo.get("auto_tsnet_s"))
    bn = plain.replace(head=plain.head.__class__(**{**vars(plain.head), "hidden_norm": "bn"}))
    assert isinstance(build_model(plain).get_submodule("classifier.bn"), nn.Identity)
    norm = build_model(bn).get_submodule("classifier.bn")
    assert isinstance(norm, nn.BatchNorm1d) and norm.num_features == bn.head.hidden
    with pytest.raises(ValueError, match="hidden_norm = 'ln': must be none or bn"):
        ClassifierHead(8, 4, 2, 0.0, "ln")
