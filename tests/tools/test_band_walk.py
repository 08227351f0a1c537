"""The study's random-walk sampler stays in the FLOPs band and is seeded."""

from __future__ import annotations

import random
from collections.abc import Callable
from types import ModuleType

from autotsnet.models.cost import estimate
from autotsnet.models.space import SearchSpace


def test_band_walk_stays_in_band_distinct_and_seeded(
    load_tool: Callable[[str], ModuleType],
) -> None:
    study = load_tool("tools/experiments/search_vs_random.py")
    space = SearchSpace.table1(scale="tiny")
    start = space.min_cost_genome()  # the cheap end, where rejection sampling fails
    target = estimate(start, num_classes=4).flops

    def walk(seed: int) -> list[str]:
        genomes, steps = study.band_walk(
            space, start, 4, count=3, tol=0.1, rng=random.Random(seed), exclude={start.genome_id},
            burn_in=200, thin=50,
        )  # fmt: skip
        assert steps == 200 + 3 * 50
        for g in genomes:
            assert 0.9 * target <= estimate(g, num_classes=4).flops <= 1.1 * target
            assert space.contains(g)
        ids = [g.genome_id for g in genomes]
        assert len(set(ids)) == 3 and start.genome_id not in ids
        return ids

    assert walk(0) == walk(0)
    assert walk(0) != walk(1)
