"""Error handling at the CLI edge: a bad input becomes ONE line on stderr and exit code 2.

Library code raises typed ``ValueError`` subclasses (``GenomeError``, ``UnknownModelError``,
...). Commands wrap their body with :func:`user_errors` (or raise :func:`fail`) so that the user
sees ``error: <what is wrong>`` and never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

__all__ = ["EXIT_USAGE", "fail", "one_line", "user_errors"]

EXIT_USAGE = 2
"""Exit code for bad input (as click uses for usage errors)."""

P = ParamSpec("P")
R = TypeVar("R")


def one_line(message: str) -> str:
    """Collapse whitespace so a message always prints as a single line."""
    return " ".join(message.split())


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr and return the ``Exit(2)`` to raise."""
    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(EXIT_USAGE)


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command: ``ValueError`` / ``OSError`` become :func:`fail` (exit 2).

    ``ValueError`` covers every typed library error (they subclass it); ``OSError`` covers
    unreadable inputs and unwritable outputs. Other exceptions are bugs and keep their traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise fail(f"{where}{exc.strerror or exc}") from None
        except ValueError as exc:
            raise fail(str(exc) or type(exc).__name__) from None

    return wrapper
