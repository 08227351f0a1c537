"""Seeded, scoped global RNGs for a training run, and their state for checkpoints.

Weight initialisation and dropout draw from torch's *global* generator, which cannot be
passed in, so a run needs the global state. :func:`seeded_rng` forks the global torch (CPU
and the run's CUDA device), Python and NumPy generators, seeds them for the run and
restores the caller's states on exit. Library code never seeds global RNGs outside it.

:func:`capture_rng_state` / :func:`restore_rng_state` convert the states to tensors and
plain values so that a checkpoint loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

__all__ = ["capture_rng_state", "restore_rng_state", "seeded_rng"]


@contextmanager
def seeded_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Run the body with the global RNGs seeded by ``seed``; restore them afterwards.

    Args:
        seed: The run's seed.
        device: The run's device; its CUDA generator is forked too.
    """
    py_state = random.getstate()
    np_state = np.random.get_state()
    cuda = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed % 2**32)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def capture_rng_state(device: torch.device) -> dict[str, Any]:
    """The global Python, NumPy, torch and CUDA RNG states as tensors and plain values."""
    version, internal, gauss = random.getstate()
    _, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict[str, Any], device: torch.device) -> None:
    """Set the global RNGs to a state from :func:`capture_rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss))
    np_state = state["numpy"]
    keys = np_state["keys"].numpy().astype(np.uint32)
    np.random.set_state(
        (
            "MT19937",
            keys,
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
