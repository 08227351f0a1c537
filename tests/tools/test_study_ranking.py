"""The study's helpers: Kendall's tau and the training seeds of a study seed."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def test_kendall_tau(load_tool: Callable[[str], ModuleType]) -> None:
    tau = load_tool("tools/experiments/search_vs_random.py").kendall_tau
    assert tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    # one discordant pair of six: (5 - 1) / 6
    assert tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    # tau-b with a tie in y: (2 - 0) / sqrt(3 * 2)
    assert tau([1, 2, 3], [1, 2, 2]) == pytest.approx(2 / math.sqrt(6))
    assert math.isnan(tau([1, 1], [2, 3]))


def test_train_seeds(load_tool: Callable[[str], ModuleType]) -> None:
    study = load_tool("tools/experiments/search_vs_random.py")
    assert study.train_seeds(2, 3) == [2, 1002, 2002]
    assert study.train_seeds(0, 1) == [0]


def _result(seed: int, modes: list[str], top1: float) -> dict[str, Any]:
    search = {
        "end_entropy": 50.0,
        "end_entropy_fraction": 0.4,
        "epoch_seconds": 100.0,
        "gflops": 0.02,
    }
    runs = {f"searched_{m}": {"top1": top1, "top1_runs": [top1 - 0.05, top1 + 0.05]} for m in modes}
    rand = [0.3, 0.4, 0.5, 0.6, 0.7]
    return {
        "seed": seed,
        "modes": modes,
        "searches": dict.fromkeys(modes, search),
        "runs": runs,
        "random_top1": rand,
        "random_mean_top1": statistics.fmean(rand),
        "searched_top1": top1,
        "searched_beats_random_mean": top1 > statistics.fmean(rand),
    }


def test_aggregate_and_plot(load_tool: Callable[[str], ModuleType], tmp_path: Path) -> None:
    study = load_tool("tools/experiments/search_vs_random.py")
    both = [_result(0, ["progressive", "one_step"], 0.6), _result(1, ["progressive"], 0.4)]
    agg, table = study.aggregate(both, "cmd")
    # one_step is reported only when every seed has it
    assert "one_step_trained_top1" not in agg and "progressive_trained_top1" in agg
    assert agg["searched_beats_random_mean_seeds"] == 1
    assert agg["searched_top1"]["per_seed"] == [0.6, 0.4]
    assert "above its randoms' mean on 1/2 seeds" in table
    agg2, _ = study.aggregate([both[0]], "cmd")
    assert agg2["one_step_trained_top1"]["per_seed"] == [0.6]
    study.plot_study(both, tmp_path / "study.png")
    assert (tmp_path / "study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
