"""The Typer application; each command group lives in its own module and is registered here."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import typer

from autotsnet.cli.data import app as data_app
from autotsnet.cli.demo import register as register_demo
from autotsnet.cli.export import register as register_export
from autotsnet.cli.models import register as register_model_commands
from autotsnet.cli.predict import register as register_predict
from autotsnet.cli.search import register as register_search
from autotsnet.cli.serve import register as register_serve
from autotsnet.cli.train import register as register_train

app = typer.Typer(
    name="autotsnet",
    no_args_is_help=True,
    add_completion=False,
    help="Search, build, train, evaluate and deploy two-stream video networks (Auto-TSNet).",
)


def package_version() -> str:
    """The installed autotsnet version (from the package metadata)."""
    try:
        return version("autotsnet")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"autotsnet {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """autotsnet: two-stream video architecture search and deployment."""


# Command registrations (one line each; modules live beside this file).
app.add_typer(data_app, name="data", help="Dataset tools: check for damaged videos, synth.")
register_model_commands(app)  # zoo, genome, flops, draw, space
register_search(app)  # search
register_train(app)  # train, eval
register_demo(app)  # demo
register_export(app)  # export (onnx, tensorrt, triton)
register_predict(app)  # predict
register_serve(app)  # serve


def main() -> None:
    """Console-script entry point."""
    app()
