"""One PARSEC iteration (spec §2.3): sample K architectures, update alpha, update the weights.

::

    A_1..A_K ~ P(A | alpha)                         (each rank draws its own K)
    validation (alpha) batch, batch-stat BN, no grad:  acc_k, LL_k = -sum CE
        (``alpha_batch_size`` clips; default as many as the weight batch, see below)
    all-gather (A, acc, LL, FLOPs) over ranks       -> K x world samples
    omega = acc / sum acc      (importance="accuracy", Auto-TSNet)
          | softmax(LL / tau)  (importance="likelihood", PARSEC)
    c_k   = C_k / sum C,  C_k = max(0, FLOPs_k / target - 1)   (0 if all within target)
    alpha: Adam on  -sum_k (omega_k - beta c_k) log P(A_k | alpha)
           (baseline="mean": on -sum_k ((omega_k - 1/N) - beta (c_k - 1/N)) log P(A_k | alpha),
            N = K x world, the hinge part centred only when some sample is over target)
    weights: for the local samples, sequentially: (omega_k * CE_k(train batch)).backward();
             all-reduce the gradients (sum), SGD step; average BN statistics over ranks.

Only one sampled network is alive at a time, so memory is that of one training step.

The alpha batch: the paper does not fix the size of the validation batch the K samples are
scored on. Its no-grad forward is a large part of what a PARSEC step costs over a plain
training step, so ``alpha_batch_size`` can make it smaller than the weight batch (the
default keeps them equal). ``docs/search.md`` gives the measured effect: small at tiny
sizes on CPU, where per-operator overhead dominates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.distributed as dist
import torch.nn.functional as F

from autotsnet.models.genome import Genome
from autotsnet.search.distribution import ArchDistribution
from autotsnet.search.dynamic import bn_batch_stats_only
from autotsnet.search.supernet import Clips, Supernet

__all__ = [
    "BASELINES",
    "Baseline",
    "Importance",
    "Parsec",
    "ParsecConfig",
    "StepStats",
    "alpha_batch",
    "alpha_coefficients",
    "expected_flops",
    "hinge_weights",
    "importance_weights",
    "scoring_logits",
]

Importance = Literal["accuracy", "likelihood"]
Baseline = Literal["none", "mean"]
BASELINES: tuple[str, ...] = ("none", "mean")


@dataclass(frozen=True, kw_only=True)
class ParsecConfig:
    """Hyper-parameters of a PARSEC step.

    Attributes:
        samples: K, architectures sampled per step and per rank.
        importance: ``"accuracy"`` (video-level validation accuracy, Auto-TSNet) or
            ``"likelihood"`` (validation batch likelihood, PARSEC).
        temperature: Divides the log-likelihoods before the softmax (1 = PARSEC exact).
        beta: Weight of the hinge FLOPs penalty.
        target_flops: FLOPs (MACs per view) target of the hinge.
        alpha_batch_size: Clips of the validation batch each sample is evaluated on (the
            first ones of the batch given to :meth:`Parsec.step`); None: as many as the
            weight batch (see :func:`alpha_batch`).
        baseline: ``"none"``: the alpha gradient uses the self-normalised weights as they
            are (spec §2.1, the papers' estimator). ``"mean"``: each sample's coefficient is
            centred on its mean over the samples (see :func:`alpha_coefficients`), which
            drops a zero-mean term from the estimate: same expected gradient, lower variance,
            and alpha stays put when every sample scores alike.
    """

    samples: int = 8
    importance: Importance = "accuracy"
    temperature: float = 1.0
    beta: float = 1.0
    target_flops: float = 1.0
    alpha_batch_size: int | None = None
    baseline: Baseline = "none"


@dataclass(frozen=True)
class StepStats:
    """What one step saw (all ranks' samples)."""

    accuracy: list[float]
    log_likelihood: list[float]
    flops: list[float]
    omega: list[float]
    train_loss: float


def importance_weights(
    kind: Importance, accuracy: torch.Tensor, log_likelihood: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Self-normalised importance weights over the K samples (spec §2.2).

    ``accuracy``: ``acc_k / sum acc`` (uniform if every accuracy is 0). ``likelihood``:
    ``softmax(LL_k / temperature)``.
    """
    if kind == "accuracy":
        total = accuracy.sum()
        if float(total) <= 0.0:
            return torch.full_like(accuracy, 1.0 / accuracy.numel())
        return accuracy / total
    if kind == "likelihood":
        return torch.softmax(log_likelihood / temperature, dim=0)
    raise ValueError(f"importance = {kind!r}: must be 'accuracy' or 'likelihood'")


def hinge_weights(flops: torch.Tensor, target: float) -> torch.Tensor:
    """``c_k = C_k / sum C`` with ``C_k = max(0, FLOPs_k / target - 1)``; zeros if all fit."""
    cost = torch.clamp(flops / target - 1.0, min=0.0)
    total = cost.sum()
    return cost / total if float(total) > 0 else torch.zeros_like(cost)


def alpha_coefficients(
    omega: torch.Tensor, cost: torch.Tensor, beta: float, baseline: Baseline
) -> torch.Tensor:
    """Per-sample coefficients ``coef_k`` of the alpha loss ``-sum_k coef_k log P(A_k|alpha)``.

    ``baseline="none"``: ``omega_k - beta c_k`` (spec §2.2). ``"mean"``: both parts centred,
    ``(omega_k - 1/N) - beta (c_k - 1/N)`` over the ``N`` samples, the hinge part only when
    some sample is over target (``c`` is all zeros otherwise). Since ``omega`` and ``c`` each
    sum to 1, the centred parts sum to 0, and the term dropped,
    ``(1/N) sum_k grad log P(A_k|alpha)``, has expectation 0 under ``P(A|alpha)``: the
    expected update is the same, but the sampling noise of which architectures were drawn no
    longer moves alpha when the samples' scores are equal.
    """
    if baseline == "none":
        return omega - beta * cost
    if baseline == "mean":
        n = omega.numel()
        centred_cost = cost - 1.0 / n if float(cost.sum()) > 0 else cost
        return (omega - 1.0 / n) - beta * centred_cost
    raise ValueError(f"baseline = {baseline!r}: must be 'none' or 'mean'")


def scoring_logits(supernet: Supernet, genome: Genome, clips: Clips) -> torch.Tensor:
    """Logits PARSEC scores ``genome`` by: no grad, batch-statistics BN (running stats kept)."""
    with torch.no_grad(), bn_batch_stats_only(), supernet.evaluation():
        logits: torch.Tensor = supernet(clips, genome)
    return logits


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _gather(t: torch.Tensor) -> torch.Tensor:
    _, world = _world()
    if world == 1:
        return t
    parts = [torch.empty_like(t) for _ in range(world)]
    dist.all_gather(parts, t.contiguous())
    return torch.cat(parts, dim=0)


class Parsec:
    """Runs PARSEC steps on a supernet and an architecture distribution.

    Args:
        supernet: The shared weights.
        distribution: The architecture distribution being searched.
        genome_of: Maps an assignment ``{name: value}`` to the genome to run.
        flops_of: Analytic FLOPs of a genome.
        config: Hyper-parameters.
        weight_optimizer: Optimizer over the supernet's parameters.
        alpha_optimizer: Optimizer over the distribution's logits (Adam, lr 0.025, wd 0).
    """

    def __init__(
        self,
        supernet: Supernet,
        distribution: ArchDistribution,
        *,
        genome_of: Callable[[dict[str, Any]], Genome],
        flops_of: Callable[[Genome], float],
        config: ParsecConfig,
        weight_optimizer: torch.optim.Optimizer,
        alpha_optimizer: torch.optim.Optimizer,
    ) -> None:
        self.supernet = supernet
        self.dist = distribution
        self.genome_of = genome_of
        self.flops_of = flops_of
        self.config = config
        self.w_opt = weight_optimizer
        self.a_opt = alpha_optimizer

    def genome(self, indices: torch.Tensor) -> Genome:
        """Genome of one row of choice indices."""
        return self.genome_of(self.dist.assignment(indices))

    def evaluate(self, genome: Genome, clips: Clips, labels: torch.Tensor) -> tuple[float, float]:
        """``(accuracy, log-likelihood)`` of ``genome`` on a batch, batch-stat BN, no grad."""
        logits = scoring_logits(self.supernet, genome, clips)
        acc = float((logits.argmax(1) == labels).float().mean())
        ll = -float(F.cross_entropy(logits, labels, reduction="sum"))
        return acc, ll

    def step(
        self,
        train: tuple[Clips, torch.Tensor],
        val: tuple[Clips, torch.Tensor],
        generator: torch.Generator,
        *,
        update_alpha: bool = True,
    ) -> StepStats:
        """One PARSEC iteration on a training batch and a validation batch.

        With ``update_alpha=False`` (a warm-up iteration) alpha is left alone and the
        samples' weight-update weights are uniform (``1/(K x world)``); the samples are
        still scored on the validation batch, so the logs show how well they do.
        """
        cfg = self.config
        val = _first(val, alpha_batch(cfg.alpha_batch_size, len(train[1])))
        local = self.dist.sample(cfg.samples, generator)
        genomes = [self.genome(row) for row in local]
        evals = [self.evaluate(g, *val) for g in genomes]
        acc = torch.tensor([a for a, _ in evals], dtype=torch.float64)
        ll = torch.tensor([b for _, b in evals], dtype=torch.float64)
        flops = torch.tensor([self.flops_of(g) for g in genomes], dtype=torch.float64)
        all_idx, all_acc, all_ll, all_flops = (_gather(t) for t in (local, acc, ll, flops))
        if update_alpha:
            omega = importance_weights(cfg.importance, all_acc, all_ll, cfg.temperature)
            c = hinge_weights(all_flops, cfg.target_flops)
            # ---- alpha update
            self.a_opt.zero_grad(set_to_none=True)
            coef = alpha_coefficients(omega, c, cfg.beta, cfg.baseline)
            coef = coef.to(self.dist.theta.dtype).to(self.dist.theta.device)
            loss_alpha = -(coef * self.dist.log_prob(all_idx)).sum()
            loss_alpha.backward()  # type: ignore[no-untyped-call]
            _allreduce_mean([self.dist.theta])
            self.a_opt.step()
        else:
            omega = torch.full_like(all_acc, 1.0 / all_acc.numel())
        # ---- weight update, one sampled network at a time
        rank, _ = _world()
        mine = omega[rank * cfg.samples : (rank + 1) * cfg.samples]
        self.w_opt.zero_grad(set_to_none=True)
        if not self.supernet.training:
            self.supernet.train()
        clips, labels = train
        total = 0.0
        for g, w in zip(genomes, mine.tolist(), strict=True):
            if w == 0.0:
                continue
            loss = F.cross_entropy(self.supernet(clips, g), labels)
            (w * loss).backward()
            total += w * loss.item()
        _allreduce_grads(list(self.supernet.parameters()))
        self.w_opt.step()
        _average_buffers(self.supernet)
        return StepStats(
            accuracy=all_acc.tolist(),
            log_likelihood=all_ll.tolist(),
            flops=all_flops.tolist(),
            omega=omega.tolist(),
            train_loss=_sum_scalar(total),
        )


def alpha_batch(requested: int | None, weight_batch: int) -> int:
    """Clips of the alpha batch: ``requested``, or the weight batch's size if None."""
    return weight_batch if requested is None else requested


def _first(batch: tuple[Clips, torch.Tensor], n: int) -> tuple[Clips, torch.Tensor]:
    clips, labels = batch
    if len(labels) <= n:
        return batch
    if isinstance(clips, torch.Tensor):
        return clips[:n], labels[:n]
    return tuple(c[:n] for c in clips), labels[:n]


def _sum_scalar(x: float) -> float:
    _, world = _world()
    if world == 1:
        return x
    t = torch.tensor([x], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t)


def _allreduce_mean(params: Sequence[torch.nn.Parameter]) -> None:
    _, world = _world()
    if world == 1:
        return
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(world)


def _allreduce_grads(params: Sequence[torch.nn.Parameter]) -> None:
    """Sum gradients over ranks; a parameter no rank touched keeps ``grad=None``."""
    _, world = _world()
    if world == 1:
        return
    has = torch.tensor([p.grad is not None for p in params], dtype=torch.float32)
    dist.all_reduce(has)
    flat = torch.cat(
        [
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
            for p, h in zip(params, has.tolist(), strict=True)
            if h > 0
        ]
        or [torch.zeros(1)]
    )
    dist.all_reduce(flat)
    off = 0
    for p, h in zip(params, has.tolist(), strict=True):
        if h > 0:
            n = p.numel()
            p.grad = flat[off : off + n].view_as(p).clone()
            off += n


def _average_buffers(module: torch.nn.Module) -> None:
    _, world = _world()
    if world == 1:
        return
    for b in module.buffers():
        if b.is_floating_point():
            dist.all_reduce(b)
            b.div_(world)


def expected_flops(
    distribution: ArchDistribution,
    genome_of: Callable[[dict[str, Any]], Genome],
    flops_of: Callable[[Genome], float],
    *,
    samples: int = 64,
    seed: int = 0,
) -> float:
    """Monte-Carlo ``E_{P(A|alpha)}[FLOPs(A)]`` with a fixed seed (comparable across epochs)."""
    gen = torch.Generator().manual_seed(seed)
    rows = distribution.sample(samples, gen)
    values = [flops_of(genome_of(distribution.assignment(r))) for r in rows]
    return math.fsum(values) / len(values)
