"""Shared fixtures of the search tests: the tiny space and in-memory data."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from autotsnet.models.space import SearchSpace
from autotsnet.search.data import TensorSearchData
from autotsnet.search.distribution import ArchDistribution
from autotsnet.search.parsec import Parsec, ParsecConfig
from autotsnet.search.supernet import Supernet


@pytest.fixture(scope="session")
def tiny_space() -> SearchSpace:
    """The Table 1 space at tiny scale (2 + 8 frames, 32 px)."""
    return SearchSpace.table1(scale="tiny")


@pytest.fixture
def make_data() -> Callable[..., TensorSearchData]:
    """Factory of :func:`random_data`."""
    return random_data


def random_data(
    n_train: int = 16, n_val: int = 8, classes: int = 3, seed: int = 0
) -> TensorSearchData:
    """Random clips (sparse 2 frames, dense 8 frames, 32 px) with random labels."""
    g = torch.Generator().manual_seed(seed)

    def make(n: int) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        clips = (
            torch.randn(n, 3, 2, 32, 32, generator=g),
            torch.randn(n, 3, 8, 32, 32, generator=g),
        )
        return clips, torch.randint(0, classes, (n,), generator=g)

    (tx, ty), (vx, vy) = make(n_train), make(n_val)
    names = tuple(f"c{i}" for i in range(classes))
    return TensorSearchData(
        tx, ty, vx, vy, batch_size=4, seed=seed, num_classes=classes, class_names=names
    )


@pytest.fixture
def make_parsec(tiny_space: SearchSpace) -> Callable[..., Parsec]:
    """Factory: ``make_parsec(cls, variables, config)``, a PARSEC on a seeded tiny supernet.

    The first ``variables`` sparse variables are searched, every genome costs 1 FLOP, and
    the weights do not move (SGD, lr 0); alpha has Adam at lr 0.1.
    """

    def make(cls: type[Parsec], variables: int, config: ParsecConfig) -> Parsec:
        base = tiny_space.base_for_step("sparse")
        d = ArchDistribution(tiny_space.variables("sparse")[:variables])
        torch.manual_seed(0)
        net = Supernet(tiny_space.max_cost_genome(), num_classes=3)
        return cls(
            net,
            d,
            genome_of=lambda a: tiny_space.decode(a, base=base),
            flops_of=lambda g: 1.0,
            config=config,
            weight_optimizer=torch.optim.SGD(net.parameters(), lr=0.0),
            alpha_optimizer=torch.optim.Adam(d.parameters(), lr=0.1),
        )

    return make
