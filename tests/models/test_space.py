"""SearchSpace: exact sizes, coding, sampling, mutation and membership (spec §1)."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from autotsnet.models import zoo
from autotsnet.models.genome import EXPANSIONS, FUSION_OPS, GenomeError
from autotsnet.models.layout import DENSE_WIDTH_CHOICES, GLORE_CANDIDATES, SPARSE_WIDTH_CHOICES
from autotsnet.models.space import STEPS, SearchSpace, Variable, scale_widths

FULL = SearchSpace.table1()
TINY = SearchSpace.table1(scale="tiny")


def _hand_count(widths: tuple[tuple[int, ...], ...]) -> int:
    # 3 temporal x 2 spatial x 7 expansions per group, times the width options of each group.
    per_group_fixed = 3 * 2 * len(EXPANSIONS)
    count: int = per_group_fixed ** len(widths) * math.prod(len(w) for w in widths)
    return count


def test_size_per_step_matches_hand_count() -> None:
    # spec §1.4: sparse 42^11 * (3^2 * 4^2 * 4^4 * 5^3) = 42^11 * 4,608,000
    assert FULL.size("sparse") == 42**11 * 4_608_000
    assert FULL.size("sparse") == _hand_count(SPARSE_WIDTH_CHOICES)
    # dense backbone 42^11 * 93,312, times 4 fusion ops at 10 locations
    assert FULL.size("dense") == 42**11 * 93_312 * 4**10
    assert FULL.size("dense") == _hand_count(DENSE_WIDTH_CHOICES) * len(FUSION_OPS) ** 10
    assert FULL.size("attention") == 2**6 * 2**6 == 4096
    assert FULL.size() == FULL.size("sparse") * FULL.size("dense") * FULL.size("attention")
    assert f"{FULL.size('sparse'):.2e}" == "3.31e+24"


def test_tiny_has_the_same_cardinality_and_variables() -> None:
    assert [v.name for v in TINY.variables()] == [v.name for v in FULL.variables()]
    for step in (*STEPS, None):
        assert TINY.size(step) == FULL.size(step)
    widths = [v.choices for v in TINY.variables() if v.name.endswith(".width")]
    assert all(min(w) >= 4 and len(set(w)) == len(w) for w in widths)
    assert TINY.base.sparse.input.frames == 2 and TINY.base.alpha == 4
    assert TINY.base.head.hidden == 64


def test_scale_widths_keeps_order_and_count() -> None:
    assert scale_widths((8, 16)) == (4, 5)
    assert scale_widths((248, 272, 296, 320, 344)) == (31, 34, 37, 40, 43)
    assert scale_widths((8,)) == (4,)


def test_variables_per_step() -> None:
    counts = {step: len(FULL.variables(step)) for step in STEPS}
    assert counts == {"sparse": 44, "dense": 44 + 10, "attention": 2 * len(GLORE_CANDIDATES)}
    names = {v.name for v in FULL.variables()}
    assert {"sparse.groups[3].temporal_kernel", "fusion[9]", "sparse.glore[5]"} <= names
    assert "fusion[10]" not in names
    assert FULL.variable("dense.groups[0].width").choices == (8,)
    with pytest.raises(ValueError, match="step"):
        FULL.variables("fusion")


def test_encode_decode_round_trip() -> None:
    rng = random.Random(1)
    for _ in range(5):
        genome = FULL.sample(rng)
        values = FULL.encode(genome)
        assert set(values) == {v.name for v in FULL.variables()}
        assert FULL.decode(values) == genome


def test_decode_partial_uses_base_and_canonicalises() -> None:
    genome = FULL.decode({"sparse.groups[2].expansion": 3, "dense.glore[2]": True})
    assert genome.sparse.groups[2].expansion == 3.0
    assert isinstance(genome.sparse.groups[2].expansion, float)
    assert genome.dense is not None and genome.dense.glore_after == (2,)
    assert genome.sparse.groups[3] == FULL.base.sparse.groups[3]


def test_decode_rejects_unknown_names_and_values() -> None:
    with pytest.raises(GenomeError, match=r"sparse\.groups\[11\]\.width: not a variable"):
        FULL.decode({"sparse.groups[11].width": 32})
    with pytest.raises(GenomeError, match="must be one of 128, 144, 160, 176"):
        FULL.decode({"sparse.groups[4].width": 100})
    with pytest.raises(GenomeError, match="must be one of 1, 3, 5"):
        FULL.decode({"sparse.groups[0].temporal_kernel": True})


def test_sample_is_seeded_and_inside() -> None:
    a = [FULL.sample(random.Random(7)) for _ in range(2)]
    assert a[0] == a[1]
    rng = random.Random(3)
    samples = [FULL.sample(rng) for _ in range(20)]
    assert all(FULL.contains(g) for g in samples)
    assert len({g.genome_id for g in samples}) == 20


def test_sample_step_only_touches_that_step() -> None:
    rng = random.Random(0)
    for step in STEPS:
        genome = FULL.sample(rng, step=step)
        before, after = FULL.encode(FULL.base), FULL.encode(genome)
        changed = {n for n in before if before[n] != after[n]}
        assert changed, step
        assert all(FULL.variable(n).step == step for n in changed)


def test_sparse_step_on_single_stream_base() -> None:
    base = FULL.base_for_step("sparse")
    assert base.dense is None and base.fusion == () and base.sparse.glore_after == ()
    genome = FULL.sample(random.Random(0), step="sparse", base=base)
    assert genome.dense is None and FULL.contains(genome)
    present = {v.name for v in FULL.variables() if v.name.startswith("sparse.")}
    assert set(FULL.encode(genome)) == present
    # assigning a dense variable on a single-stream base brings in the base's dense stream
    grown = FULL.decode({"fusion[0]": "time_to_channel"}, base=genome)
    assert grown.dense == FULL.base.dense and grown.fusion[0] == "time_to_channel"


def test_mutate_stays_inside_and_changes_something() -> None:
    rng = random.Random(11)
    genome = FULL.base
    for _ in range(30):
        child = FULL.mutate(genome, rng, rate=0.05)
        assert FULL.contains(child)
        assert child.genome_id != genome.genome_id
        genome = child
    # rate 0 still changes exactly one variable, of the requested step only
    child = FULL.mutate(FULL.base, random.Random(5), rate=0.0, step="attention")
    before, after = FULL.encode(FULL.base), FULL.encode(child)
    changed = [n for n in before if before[n] != after[n]]
    assert len(changed) == 1 and FULL.variable(changed[0]).step == "attention"
    with pytest.raises(ValueError, match="rate"):
        FULL.mutate(FULL.base, rng, rate=1.5)


def test_check_messages_name_the_path() -> None:
    assert FULL.check(FULL.base) == []
    bad_group = dataclasses.replace(FULL.base.sparse.groups[4], width=100)
    groups = list(FULL.base.sparse.groups)
    groups[4] = bad_group
    sparse = dataclasses.replace(FULL.base.sparse, groups=tuple(groups), glore_after=(4,))
    genome = FULL.base.replace(sparse=sparse)
    assert FULL.check(genome) == [
        "sparse.groups[4].width = 100: must be one of 128, 144, 160, 176",
        "sparse.glore_after[0] = 4: GloRe may only follow groups 2, 3, 5, 7, 8, 9",
    ]
    assert not FULL.contains(genome)
    with pytest.raises(GenomeError, match=r"sparse\.groups\[4\]\.width = 100.*\(and 1 more\)"):
        FULL.encode(genome)
    assert FULL.check(zoo.get("x3d_s")) == ["sparse.groups = <4 groups>: the space has 11 groups"]
    assert not TINY.contains(FULL.base)


@pytest.mark.parametrize("name", zoo.names("auto_tsnet_*"))
def test_zoo_auto_tsnet_genomes_are_inside(name: str) -> None:
    assert FULL.check(zoo.get(name)) == []


def test_min_and_max_cost_genomes() -> None:
    low, high = FULL.encode(FULL.min_cost_genome()), FULL.encode(FULL.max_cost_genome())
    for var in FULL.variables():
        if var.choices == FUSION_OPS:
            assert (low[var.name], high[var.name]) == ("none", "time_to_channel")
        else:
            assert low[var.name] == min(var.choices) and high[var.name] == max(var.choices)
    # a step-limited bound keeps the other variables from the base
    dense_low = FULL.encode(FULL.min_cost_genome("dense"))
    base = FULL.encode(FULL.base)
    assert all(dense_low[n] == base[n] for n in base if FULL.variable(n).step != "dense")


def test_variable_is_frozen_keyword_only() -> None:
    var = Variable(name="fusion[0]", choices=FUSION_OPS, step="dense")
    with pytest.raises(dataclasses.FrozenInstanceError):
        var.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Variable("fusion[0]", FUSION_OPS, "dense")  # type: ignore[call-arg]
