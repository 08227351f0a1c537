"""Progressive PARSEC search ([P] §4.2): sparse stream, then dense + fusion, then attention.

Each step has its own FLOPs target and epoch count, searches the variables of its step with a
fresh uniform alpha, and fixes the previous steps' most probable choices; the supernet (and its
optimizer) carries on, so step 2 inherits step 1's weights. ``one_step`` searches every
listed step's variables at once (the Table 9 ablation) with the last target and the sum of the
epochs. Outputs in the run directory: ``genome_step<i>_<step>.json`` after each step,
``genome.json``, ``search.jsonl`` (one record per epoch), ``entropy.png``, ``flops.png``,
``supernet.png``, ``alpha_<step>.png`` and ``checkpoint.pt`` (atomic, every epoch;
``resume=True`` continues it and reaches the same genome as an uninterrupted run).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from autotsnet.models.cost import estimate
from autotsnet.models.genome import Genome, InputSpec
from autotsnet.models.space import SearchSpace
from autotsnet.search.checkpoint import (
    CHECKPOINT,
    append_jsonl,
    atomic_write_text,
    load_checkpoint,
    read_jsonl,
    save_checkpoint,
)
from autotsnet.search.config import (
    SearchConfig,
    SearchError,
    StepPlan,
    complete_fingerprint,
    plan_steps,
)
from autotsnet.search.data import SearchData
from autotsnet.search.distribution import ArchDistribution
from autotsnet.search.parsec import Parsec, ParsecConfig, alpha_batch, expected_flops
from autotsnet.search.plots import plot_alpha, plot_curves
from autotsnet.search.supernet import Supernet
from autotsnet.train.active_units import ActiveUnits

__all__ = [
    "SearchResult",
    "check_targets",
    "flops_bounds",
    "load_supernet",
    "run_search",
    "search_space",
    "with_inputs",
]

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
"""Called as ``progress(description, completed, total)`` after every iteration."""


@dataclass(frozen=True)
class SearchResult:
    """Where the search wrote its results."""

    genome: Genome
    genome_path: Path
    step_genomes: tuple[Path, ...]
    finished: bool


def with_inputs(genome: Genome, frames: tuple[int, int] | None, crop: int | None) -> Genome:
    """``genome`` with (sparse, dense) ``frames`` and training ``crop`` overridden (None: keep)."""
    if frames is None and crop is None:
        return genome
    test = None if crop is None else round(crop * 182 / 160)
    streams: dict[str, Any] = {}
    for i, (name, s) in enumerate(genome.streams.items()):
        inp = s.input
        fr = inp.frames if frames is None else frames[i]
        new = InputSpec(
            frames=fr,
            temporal_stride=inp.temporal_stride,
            train_crop=inp.train_crop if crop is None else crop,
            test_crop=inp.test_crop if test is None else test,
            test_short_side=inp.test_short_side if test is None else test,
        )
        streams[name] = dataclasses.replace(s, input=new)
    return genome.replace(**streams)


def search_space(config: SearchConfig) -> SearchSpace:
    """The Table 1 space at the configured scale and head."""
    return SearchSpace.table1(scale=config.space_scale, hidden_norm=config.head_norm)


def load_supernet(path: Path) -> Supernet:
    """The supernet of a search's checkpoint (``RUN_DIR/checkpoint.pt``), built as the search
    built it (space scale, head, frames, crop, kernel mode and classes of its fingerprint) and
    holding its weights, for scoring genomes or taking subnets after the search."""
    state = load_checkpoint(path)
    fp = complete_fingerprint(dict(state["fingerprint"]))
    space = SearchSpace.table1(scale=fp["space_scale"], hidden_norm=fp["head_norm"])
    frames = (int(fp["frames"][0]), int(fp["frames"][1])) if fp.get("frames") else None
    top = with_inputs(space.max_cost_genome(), frames, fp.get("crop"))
    net = Supernet(top, num_classes=len(fp["classes"]), kernel_mode=fp["kernel_mode"])
    net.load_state_dict(state["supernet"])
    return net


def flops_bounds(
    space: SearchSpace,
    config: SearchConfig,
    plan: StepPlan,
    num_classes: int,
    fixed: dict[str, Any],
    *,
    free_previous: bool,
) -> tuple[float, float]:
    """Smallest and largest FLOPs of the step's sub-space.

    With ``free_previous`` the variables of earlier steps range freely too (the check made
    before a search starts); otherwise they keep the values in ``fixed``.
    """
    steps = (*plan.prev_steps, *plan.var_steps) if free_previous else plan.var_steps
    out = []
    for which in ("min", "max"):
        g = space.decode(fixed, base=space.base_for_step(plan.model_step))
        for s in steps:
            g = (space.min_cost_genome if which == "min" else space.max_cost_genome)(s, base=g)
        g = with_inputs(g, config.frames, config.crop)
        out.append(float(estimate(g, num_classes=num_classes).flops))
    return out[0], out[1]


def check_targets(space: SearchSpace, config: SearchConfig, num_classes: int) -> None:
    """Raise :class:`SearchError` naming both bounds when a FLOPs target is infeasible."""
    for plan in plan_steps(config):
        lo, hi = flops_bounds(space, config, plan, num_classes, {}, free_previous=True)
        t = plan.target_gflops * 1e9
        if not lo <= t <= hi:
            raise SearchError(
                f"--target-gflops {plan.target_gflops:g} for step {plan.name!r} is infeasible: "
                f"its architectures cost {lo / 1e9:.6g} to {hi / 1e9:.6g} GFLOPs per view"
            )


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _gen(seed: int, *parts: int) -> torch.Generator:
    value = seed
    for p in parts:
        value = (value * 1_000_003 + p + 1) % (2**62)
    return torch.Generator().manual_seed(value)


def _lr(base: float, it: int, total: int) -> float:
    return 0.5 * base * (1.0 + math.cos(math.pi * it / max(1, total)))


def _to(batch: Any, device: torch.device) -> Any:
    clips, labels = batch
    return tuple(c.to(device) for c in clips), labels.to(device)


def run_search(
    config: SearchConfig,
    data: SearchData,
    out: Path,
    *,
    resume: bool = False,
    progress: ProgressFn | None = None,
    stop_after_epochs: int | None = None,
    device: torch.device | None = None,
) -> SearchResult:
    """Run the (progressive or one-step) search and write its outputs to ``out``.

    Args:
        config: Search settings.
        data: Weight and alpha batches.
        out: Run directory.
        resume: Continue from ``out/checkpoint.pt``.
        progress: Progress callback (the CLI draws rich bars with it).
        stop_after_epochs: Stop (as if interrupted) after this many epochs of this call.
        device: Where the supernet runs (default CPU).

    Raises:
        SearchError: Bad configuration, infeasible target, or a mismatched resume directory.
    """
    device = device or torch.device("cpu")
    rank, world = _rank_world()
    space = search_space(config)
    plans = plan_steps(config)
    check_targets(space, config, data.num_classes)
    if len(data) < 1:
        raise SearchError("the dataset gives no full training batch; lower --batch-size")
    batch = int(getattr(data, "batch_size", 2))
    if config.head_norm == "bn" and min(alpha_batch(config.alpha_batch_size, batch), batch) < 2:
        raise SearchError(
            "--head-norm bn needs at least 2 clips per batch (--batch-size and "
            "--alpha-batch-size): a BatchNorm1d has no statistics over one clip"
        )
    if config.baseline == "mean" and config.samples * world < 2:
        raise SearchError(
            "--baseline mean needs at least 2 samples per iteration over all ranks "
            f"(--samples {config.samples} x {world} rank(s)): with one, alpha never moves"
        )
    fingerprint = {**config.fingerprint(), "classes": list(data.class_names), "world": world}
    ckpt_path = out / CHECKPOINT
    state: dict[str, Any] | None = None
    if ckpt_path.exists():
        if not resume:
            raise SearchError(
                f"{out} already holds a search checkpoint; pass --resume or use another --out"
            )
        state = load_checkpoint(ckpt_path)
        saved = complete_fingerprint(dict(state.get("fingerprint") or {}))
        if saved != fingerprint:
            diff = sorted(k for k in fingerprint if saved.get(k) != fingerprint[k])
            raise SearchError(
                f"{ckpt_path} was written by a different search "
                f"(differs in: {', '.join(diff) or 'version'})"
            )
    elif resume:
        logger.info("no checkpoint in %s; starting a new search", out)
    out.mkdir(parents=True, exist_ok=True)
    max_genome = with_inputs(space.max_cost_genome(), config.frames, config.crop)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
        torch.manual_seed(config.seed)
        supernet = Supernet(
            max_genome, num_classes=data.num_classes, kernel_mode=config.kernel_mode
        )
    supernet.to(device)
    w_opt: torch.optim.Optimizer
    if config.optimizer == "adamw":
        w_opt = torch.optim.AdamW(
            supernet.parameters(), lr=config.lr_weights, weight_decay=config.weight_decay
        )
    else:
        w_opt = torch.optim.SGD(
            supernet.parameters(),
            lr=config.lr_weights,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
    fixed: dict[str, Any] = {}
    step_files: list[Path] = []
    finals: dict[str, float] = {}
    start_step, start_epoch = 0, 0
    records = read_jsonl(out / "search.jsonl") if state is not None else []
    if state is not None:
        supernet.load_state_dict(state["supernet"])
        w_opt.load_state_dict(state["w_opt"])
        fixed = dict(state["fixed"])
        finals = dict(state["final_entropy"])
        step_files = [out / p for p in state["step_files"]]
        start_step, start_epoch = state["step_index"], state["epoch"]
        records = [r for r in records if r["global_epoch"] < state["global_epoch"]]
    global_epoch = sum(p.total_epochs for p in plans[:start_step]) + start_epoch
    epochs_run = 0
    for si in range(start_step, len(plans)):
        plan = plans[si]
        distribution = ArchDistribution(_vars(space, plan))
        distribution.to(device)
        a_opt = torch.optim.Adam(distribution.parameters(), lr=config.lr_alpha, weight_decay=0.0)
        first_epoch = 0
        if state is not None and si == start_step and state["dist"] is not None:
            distribution.load_state_dict(state["dist"])
            a_opt.load_state_dict(state["a_opt"])
            first_epoch = start_epoch
        base = space.decode(fixed, base=space.base_for_step(plan.model_step))
        fixed_now = dict(fixed)

        def genome_of(a: dict[str, Any], base: Genome = base) -> Genome:
            return with_inputs(space.decode(a, base=base), config.frames, config.crop)

        def flops_of(g: Genome) -> float:
            return float(estimate(g, num_classes=data.num_classes).flops)

        lo, hi = flops_bounds(space, config, plan, data.num_classes, fixed_now, free_previous=False)
        if not lo <= plan.target_gflops * 1e9 <= hi:
            logger.warning(
                "step %s: target %.4g GFLOPs outside %.4g-%.4g given the fixed choices",
                plan.name,
                plan.target_gflops,
                lo / 1e9,
                hi / 1e9,
            )
        parsec = Parsec(
            supernet,
            distribution,
            genome_of=genome_of,
            flops_of=flops_of,
            config=ParsecConfig(
                samples=config.samples,
                importance=config.importance,
                temperature=config.temperature,
                beta=config.beta,
                target_flops=plan.target_gflops * 1e9,
                alpha_batch_size=config.alpha_batch_size,
                baseline=config.baseline,
            ),
            weight_optimizer=w_opt,
            alpha_optimizer=a_opt,
        )
        iters = min(len(data), config.max_iters or len(data))
        total = plan.total_epochs * iters
        for epoch in range(first_epoch, plan.total_epochs):
            warm = epoch < plan.warmup_epochs
            label = (
                f"{plan.name} warm-up {epoch + 1}/{plan.warmup_epochs}"
                if warm
                else f"{plan.name} epoch {epoch - plan.warmup_epochs + 1}/{plan.epochs}"
            )
            t0 = time.perf_counter()
            gen = _gen(config.seed, rank, global_epoch)
            supernet.dropout_generator = _gen(config.seed, rank, global_epoch, 1)
            pairs = zip(data.train_batches(global_epoch), _cycle(data, global_epoch), strict=False)
            accs, flops, losses = [], [], []
            for it, (tb, vb) in enumerate(itertools.islice(pairs, iters)):
                for group in w_opt.param_groups:
                    group["lr"] = _lr(config.lr_weights, epoch * iters + it, total)
                stats = parsec.step(_to(tb, device), _to(vb, device), gen, update_alpha=not warm)
                accs += stats.accuracy
                flops += stats.flops
                losses.append(stats.train_loss)
                if progress is not None:
                    progress(label, epoch * iters + it + 1, total)
            am = distribution.argmax()
            arg_genome = genome_of(distribution.assignment(am))
            arg_acc, alive = _argmax_acc(parsec, arg_genome, data, global_epoch, device)
            if alive == 0:
                logger.warning(
                    "%s: no hidden unit of the supernet's classifier head is active on the "
                    "alpha batches (dead ReLUs): its outputs no longer depend on the clip, and "
                    "every architecture scores alike",
                    label,
                )
            record = {
                "step": plan.name,
                "step_index": si,
                "epoch": epoch,
                "phase": "warmup" if warm else "search",
                "global_epoch": global_epoch,
                "entropy": distribution.entropy(),
                "max_entropy": distribution.max_entropy(),
                "entropy_per_step": {**finals, plan.name: distribution.entropy()},
                "expected_gflops": expected_flops(
                    distribution, genome_of, flops_of, seed=config.seed
                )
                / 1e9,
                "sampled_gflops": (sum(flops) / max(1, len(flops))) / 1e9,
                "argmax_gflops": flops_of(arg_genome) / 1e9,
                "target_gflops": plan.target_gflops,
                "sample_val_acc": sum(accs) / max(1, len(accs)),
                "argmax_val_acc": arg_acc,
                "head_alive_units": alive,
                "head_hidden_units": supernet.fc1.out_features,
                "train_loss": sum(losses) / max(1, len(losses)),
                "lr_weights": w_opt.param_groups[0]["lr"],
                "seconds": time.perf_counter() - t0,
                "alpha": distribution.snapshot(),
            }
            records.append(record)
            global_epoch += 1
            epochs_run += 1
            done_step = epoch + 1 == plan.total_epochs
            if done_step:
                finals[plan.name] = distribution.entropy()
                fixed.update(distribution.assignment(am))
                name = f"genome_step{si + 1}_{plan.name}.json"
                if rank == 0:
                    atomic_write_text(
                        out / name,
                        arg_genome.replace(name=f"search_step{si + 1}_{plan.name}").to_json(),
                    )
                    plot_alpha(
                        record["alpha"],
                        out / f"alpha_{plan.name}.png",
                        f"alpha after step {plan.name}",
                    )
                step_files.append(out / name)
            if rank == 0:
                append_jsonl(out / "search.jsonl", records)
                save_checkpoint(
                    ckpt_path,
                    {
                        "fingerprint": fingerprint,
                        "supernet": supernet.state_dict(),
                        "w_opt": w_opt.state_dict(),
                        "dist": None if done_step else distribution.state_dict(),
                        "a_opt": None if done_step else a_opt.state_dict(),
                        "fixed": fixed,
                        "final_entropy": finals,
                        "step_files": [p.name for p in step_files],
                        "step_index": si + 1 if done_step else si,
                        "epoch": 0 if done_step else epoch + 1,
                        "global_epoch": global_epoch,
                    },
                )
                plot_curves(records, out)
            logger.info(
                "%s: entropy %.3f, expected %.4g GFLOPs, argmax %.4g GFLOPs",
                label,
                record["entropy"],
                record["expected_gflops"],
                record["argmax_gflops"],
            )
            if (
                stop_after_epochs is not None
                and epochs_run >= stop_after_epochs
                and not (si == len(plans) - 1 and done_step)
            ):
                g = genome_of(distribution.assignment(am))
                return SearchResult(g, out / "genome.json", tuple(step_files), finished=False)
    last = plans[-1]
    final = with_inputs(
        space.decode(fixed, base=space.base_for_step(last.model_step)), config.frames, config.crop
    )
    final = final.replace(
        name=f"autotsnet_search_{final.genome_id}",
        notes=(
            f"Found by `autotsnet search` "
            f"({'one-step' if config.one_step else 'progressive'} PARSEC, "
            f"steps {','.join(config.steps)}, targets {config.targets_gflops} GFLOPs, "
            f"space {config.space_scale}, seed {config.seed}).",
        ),
    )
    if rank == 0:
        atomic_write_text(out / "genome.json", final.to_json())
    return SearchResult(final, out / "genome.json", tuple(step_files), finished=True)


def _vars(space: SearchSpace, plan: StepPlan) -> tuple[Any, ...]:
    return tuple(v for s in plan.var_steps for v in space.variables(s))


def _cycle(data: SearchData, epoch: int) -> Any:
    for k in itertools.count():
        yield from data.val_batches(epoch * 1000 + k)


def _argmax_acc(
    parsec: Parsec,
    genome: Genome,
    data: SearchData,
    epoch: int,
    device: torch.device,
    batches: int = 4,
) -> tuple[float, int]:
    """Accuracy of ``genome`` on ``batches`` alpha batches, and how many hidden units of the
    classifier head are active (ReLU output > 0) on at least one of their clips."""
    # the supernet applies fc1 functionally; its dropout module sees the post-ReLU output
    with ActiveUnits(parsec.supernet.dropout) as units:
        accs = [
            parsec.evaluate(genome, *_to(b, device))[0]
            for b in itertools.islice(data.val_batches(epoch), batches)
        ]
    alive = units.count
    return sum(accs) / max(1, len(accs)), alive
