"""The ``autotsnet`` command line (Typer). The only layer allowed to import every package."""

from autotsnet.cli.app import app, main

__all__ = ["app", "main"]
