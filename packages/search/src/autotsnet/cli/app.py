"""The Typer application; each command group lives in its own module and is registered here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="autotsnet",
    no_args_is_help=True,
    add_completion=False,
    help="Search, build, train, evaluate and deploy two-stream video networks (Auto-TSNet).",
)


@app.callback()
def _root() -> None:
    """autotsnet: two-stream video architecture search and deployment."""


def main() -> None:
    """Console-script entry point."""
    app()
