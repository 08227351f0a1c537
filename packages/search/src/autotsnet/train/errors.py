"""Typed errors of the training layer; each message is one line naming what is wrong."""

from __future__ import annotations

__all__ = ["EvalError", "TrainError"]


class TrainError(ValueError):
    """Bad training input: run directory, options, dataset vs checkpoint."""


class EvalError(TrainError):
    """Bad evaluation input: view protocol, aggregation, output folder, classes."""
