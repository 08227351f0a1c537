"""PARSEC: importance weights, the alpha gradient and planted-answer searches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from autotsnet.models.cost import estimate
from autotsnet.models.genome import Genome
from autotsnet.models.space import SearchSpace
from autotsnet.search.distribution import ArchDistribution
from autotsnet.search.parsec import (
    Parsec,
    ParsecConfig,
    alpha_batch,
    alpha_coefficients,
    hinge_weights,
    importance_weights,
)
from autotsnet.search.supernet import Clips, Supernet


def test_importance_weights() -> None:
    acc = torch.tensor([0.5, 0.25, 0.25, 0.0], dtype=torch.float64)
    ll = torch.tensor([-1.0, -2.0, -3.0, -4.0], dtype=torch.float64)
    torch.testing.assert_close(importance_weights("accuracy", acc, ll, 1.0), acc)
    zero = importance_weights("accuracy", torch.zeros(4, dtype=torch.float64), ll, 1.0)
    torch.testing.assert_close(zero, torch.full((4,), 0.25, dtype=torch.float64))
    w = importance_weights("likelihood", acc, ll, 1.0)
    torch.testing.assert_close(w, torch.softmax(ll, 0))
    flat = importance_weights("likelihood", acc, ll, 100.0)
    assert float(flat.max() - flat.min()) < float(w.max() - w.min())
    with pytest.raises(ValueError, match="importance"):
        importance_weights("bogus", acc, ll, 1.0)  # type: ignore[arg-type]


def test_hinge_weights() -> None:
    f = torch.tensor([50.0, 150.0, 300.0], dtype=torch.float64)
    torch.testing.assert_close(
        hinge_weights(f, 100.0), torch.tensor([0.0, 0.2, 0.8], dtype=torch.float64)
    )
    assert float(hinge_weights(f, 1000.0).sum()) == 0.0


def test_alpha_coefficients() -> None:
    omega = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    c = torch.tensor([0.0, 0.2, 0.8], dtype=torch.float64)
    torch.testing.assert_close(alpha_coefficients(omega, c, 2.0, "none"), omega - 2.0 * c)
    mean = alpha_coefficients(omega, c, 2.0, "mean")
    torch.testing.assert_close(mean, (omega - 1 / 3) - 2.0 * (c - 1 / 3))
    assert abs(float(mean.sum())) < 1e-12
    # all within target: the hinge part is zero, not centred
    none_over = torch.zeros(3, dtype=torch.float64)
    torch.testing.assert_close(alpha_coefficients(omega, none_over, 2.0, "mean"), omega - 1 / 3)
    # equal scores and no cost: nothing moves alpha
    flat = torch.full((3,), 1 / 3, dtype=torch.float64)
    assert float(alpha_coefficients(flat, none_over, 1.0, "mean").abs().sum()) == 0.0
    with pytest.raises(ValueError, match="baseline"):
        alpha_coefficients(omega, c, 1.0, "bogus")  # type: ignore[arg-type]


def _score_function_grads(baseline: str, draws: int, seed: int) -> torch.Tensor:
    """``draws`` alpha-gradient estimates of a 3-way choice whose accuracy is planted."""
    gen = torch.Generator().manual_seed(seed)
    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    acc = torch.tensor([0.30, 0.35, 0.40], dtype=torch.float64)
    out = []
    for _ in range(draws):
        idx = torch.multinomial(torch.softmax(theta.detach(), 0), 4, True, generator=gen)
        omega = importance_weights("accuracy", acc[idx], acc[idx], 1.0)
        coef = alpha_coefficients(omega, torch.zeros(4, dtype=torch.float64), 1.0, baseline)  # type: ignore[arg-type]
        (g,) = torch.autograd.grad(-(coef * torch.log_softmax(theta, 0)[idx]).sum(), theta)
        out.append(g)
    return torch.stack(out)


def test_mean_baseline_same_expected_gradient_less_variance() -> None:
    """The centred estimator drops a zero-mean term: same mean, far smaller variance."""
    none = _score_function_grads("none", 4000, seed=0)
    mean = _score_function_grads("mean", 4000, seed=0)
    # expected gradient: both point towards the most accurate choice (descent direction)
    for g in (none.mean(0), mean.mean(0)):
        assert float(g[2]) < 0 < float(g[0])
    torch.testing.assert_close(none.mean(0), mean.mean(0), atol=0.015, rtol=0.0)
    assert float(mean.var(0).sum()) < 0.1 * float(none.var(0).sum())


def test_mean_baseline_leaves_alpha_alone_when_scores_tie(
    make_parsec: Callable[..., Parsec],
) -> None:
    results = {}
    for baseline in ("none", "mean"):
        p = make_parsec(_Tied, 4, ParsecConfig(samples=3, target_flops=2.0, baseline=baseline))
        gen = torch.Generator().manual_seed(0)
        x, y = (torch.randn(2, 3, 2, 32, 32),), torch.tensor([0, 1])
        for _ in range(5):
            p.step((x, y), (x, y), gen)
        results[baseline] = float(p.dist.theta.detach().abs().max())
    assert results["mean"] == 0.0
    assert results["none"] > 0.1  # the uncentred estimator drifts on sampling noise alone


class _Tied(Parsec):
    """Every architecture scores the same."""

    def evaluate(self, genome: Genome, clips: Clips, labels: torch.Tensor) -> tuple[float, float]:
        return 0.5, -1.0


def test_log_prob_gradient_is_onehot_minus_pi(tiny_space: SearchSpace) -> None:
    d = ArchDistribution(tiny_space.variables("sparse")[:3])
    with torch.no_grad():
        d.theta.normal_()
    idx = torch.tensor([[0, 1, 2]])
    d.log_prob(idx).sum().backward()  # type: ignore[no-untyped-call]
    assert d.theta.grad is not None
    for i, p in enumerate(d.probs()):
        onehot = torch.zeros_like(p)
        onehot[int(idx[0, i])] = 1.0
        torch.testing.assert_close(
            d.theta.grad[d.offsets[i] : d.offsets[i + 1]], onehot - p.detach()
        )


def test_one_table_sampler_matches_per_variable_draws(tiny_space: SearchSpace) -> None:
    """The padded (V, max choices) table draws exactly what one multinomial per variable
    would from the same generator (so seeded searches repeat), and its log-probabilities
    are the per-variable log-softmaxes."""
    variables = [v for step in ("sparse", "dense", "attention") for v in tiny_space.variables(step)]
    d = ArchDistribution(variables)
    assert len(set(d.sizes)) > 2  # choice counts differ, so padding is exercised
    with torch.no_grad():
        d.theta.normal_(0.0, 2.0, generator=torch.Generator().manual_seed(0))
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        ref = torch.stack(
            [torch.multinomial(p, 6, replacement=True, generator=g) for p in d.probs()], dim=1
        )
        assert torch.equal(d.sample(6, torch.Generator().manual_seed(seed)), ref)
    idx = d.sample(4, torch.Generator().manual_seed(9))
    logp = [torch.log_softmax(d.logits(i), 0).detach() for i in range(len(d.sizes))]
    want = torch.stack(
        [torch.stack([lp[int(j)] for lp, j in zip(logp, row, strict=True)]).sum() for row in idx]
    )
    torch.testing.assert_close(d.log_prob(idx).detach(), want)
    assert all(float(p.detach().sum()) == pytest.approx(1.0) for p in d.probs())


class _Oracle(Parsec):
    """Validation accuracy is planted: only temporal kernel 5 in group 0 solves the task."""

    def evaluate(self, genome: Genome, clips: Clips, labels: torch.Tensor) -> tuple[float, float]:
        good = genome.sparse.groups[0].temporal_kernel == 5
        return (1.0 if good else 0.1), (0.0 if good else -5.0)


@pytest.mark.parametrize(
    ("importance", "baseline"),
    [("accuracy", "none"), ("likelihood", "none"), ("accuracy", "mean")],
)
def test_planted_accuracy_wins(tiny_space: SearchSpace, importance: str, baseline: str) -> None:
    base = tiny_space.base_for_step("sparse")
    variables = [
        v for v in tiny_space.variables("sparse") if v.name.startswith("sparse.groups[0].")
    ]
    d = ArchDistribution(variables)
    torch.manual_seed(0)
    net = Supernet(tiny_space.max_cost_genome(), num_classes=3)

    def genome_of(a: dict[str, Any]) -> Genome:
        return tiny_space.decode(a, base=base)

    hi = estimate(tiny_space.max_cost_genome("sparse", base), num_classes=3).flops
    p = _Oracle(
        net,
        d,
        genome_of=genome_of,
        flops_of=lambda g: float(estimate(g, num_classes=3).flops),
        config=ParsecConfig(
            samples=4,
            importance=importance,  # type: ignore[arg-type]
            target_flops=hi,
            baseline=baseline,  # type: ignore[arg-type]
        ),
        weight_optimizer=torch.optim.SGD(net.parameters(), lr=0.0),
        alpha_optimizer=torch.optim.Adam(d.parameters(), lr=0.1),
    )
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(2, 3, 2, 32, 32),)
    y = torch.tensor([0, 1])
    h0 = d.entropy()
    for _ in range(25):
        p.step((x, y), (x, y), gen)
    probs = d.probs()[0]
    assert int(torch.argmax(probs)) == variables[0].choices.index(5)
    assert float(probs.detach().max()) > 0.6
    assert d.entropy() < h0


def test_alpha_batch_default_is_the_weight_batch() -> None:
    assert alpha_batch(None, 8) == 8
    assert alpha_batch(None, 1) == 1
    assert alpha_batch(3, 8) == 3


class _Counting(Parsec):
    """Records how many clips every architecture is scored on."""

    seen: list[int]

    def evaluate(self, genome: Genome, clips: Clips, labels: torch.Tensor) -> tuple[float, float]:
        self.seen.append(len(labels))
        return super().evaluate(genome, clips, labels)


@pytest.mark.parametrize(("alpha_batch_size", "expected"), [(None, 3), (1, 1), (2, 2)])
def test_alpha_batch_size_limits_the_scoring_batch(
    make_parsec: Callable[..., Parsec], alpha_batch_size: int | None, expected: int
) -> None:
    config = ParsecConfig(samples=2, target_flops=2.0, alpha_batch_size=alpha_batch_size)
    p = make_parsec(_Counting, 2, config)
    assert isinstance(p, _Counting)
    p.seen = []
    x, y = (torch.randn(3, 3, 2, 32, 32),), torch.tensor([0, 1, 2])
    vx, vy = (torch.randn(4, 3, 2, 32, 32),), torch.tensor([0, 1, 2, 0])
    p.step((x, y), (vx, vy), torch.Generator().manual_seed(0))
    assert p.seen == [expected, expected]
