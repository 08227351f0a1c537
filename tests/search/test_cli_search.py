"""``autotsnet search`` bad input: one line on stderr and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from autotsnet.cli.app import app


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--steps", "dense,sparse"], "order"),
        (["--steps", "sparse", "--epochs", "1,1"], "need 1"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, extra: list[str], match: str) -> None:
    (tmp_path / "ds").mkdir()
    args = ["search", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "run")]
    args += ["--space-scale", "tiny", "--target-gflops", "0.0015,0.004,0.005", "--epochs", "1,1,1"]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and match in lines[0]


def test_empty_dataset_exits_2(tmp_path: Path) -> None:
    (tmp_path / "ds" / "train").mkdir(parents=True)
    args = ["search", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "run")]
    args += ["--space-scale", "tiny", "--target-gflops", "0.0015,0.004,0.005", "--epochs", "1,1,1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert len([ln for ln in result.stderr.splitlines() if ln.strip()]) == 1
