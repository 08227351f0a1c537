"""The study's helpers: Kendall's tau and the training seeds of a study seed."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType

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
