"""Shared fixtures of the search tests: the tiny space and in-memory data."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from autotsnet.models.space import SearchSpace
from autotsnet.search.data import TensorSearchData


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
