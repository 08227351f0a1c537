"""``autotsnet search`` bad input: one line on stderr and exit code 2."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autotsnet.cli.app import app
from autotsnet.cli.search import train_hint
from autotsnet.models.space import SearchSpace
from autotsnet.search.config import SearchConfig, plan_steps
from autotsnet.search.progressive import flops_bounds, search_space


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--steps", "dense,sparse"], "order"),
        (["--steps", "sparse", "--epochs", "1,1"], "need 1"),
        (["--warmup-epochs", "1,1"], "--warmup-epochs needs one value or 3"),
        (["--warmup-epochs", "-1"], "--warmup-epochs must be 0 or more"),
        (["--warmup-epochs", "x"], "--warmup-epochs 'x': expected comma-separated integers"),
        (["--baseline", "median"], "--baseline 'median': must be none or mean"),
        (["--head-norm", "ln"], "--head-norm 'ln': must be none or bn"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, extra: list[str], match: str) -> None:
    (tmp_path / "ds").mkdir()
    args = ["search", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "run")]
    args += ["--space-scale", "tiny", "--target-gflops", "0.005,0.008,0.009", "--epochs", "1,1,1"]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and match in lines[0]


def test_empty_dataset_exits_2(tmp_path: Path) -> None:
    (tmp_path / "ds" / "train").mkdir(parents=True)
    args = ["search", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "run")]
    args += ["--space-scale", "tiny", "--target-gflops", "0.005,0.008,0.009", "--epochs", "1,1,1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert len([ln for ln in result.stderr.splitlines() if ln.strip()]) == 1


def _fake_dataset(root: Path, classes: int = 2, videos: int = 4) -> Path:
    """A folder-per-class dataset of empty files: enough to list, never decoded."""
    for c in range(classes):
        (root / "train" / f"c{c}").mkdir(parents=True)
        for i in range(videos):
            (root / "train" / f"c{c}" / f"v{i}.mp4").touch()
    return root


def test_infeasible_target_names_both_bounds(tmp_path: Path) -> None:
    config = SearchConfig(targets_gflops=(5.0,), epochs=(1,), steps=("sparse",), space_scale="tiny")
    plan = plan_steps(config)[0]
    lo, hi = flops_bounds(search_space(config), config, plan, 2, {}, free_previous=True)
    assert hi < 5e9
    data = _fake_dataset(tmp_path / "ds")
    args = ["search", "--data", str(data), "--out", str(tmp_path / "run"), "--space-scale"]
    args += ["tiny", "--steps", "sparse", "--target-gflops", "5", "--epochs", "1"]
    result = CliRunner().invoke(app, [*args, "--batch-size", "2"])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "infeasible" in lines[0]
    assert f"{lo / 1e9:.6g}" in lines[0] and f"{hi / 1e9:.6g}" in lines[0]
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


@pytest.mark.parametrize(
    ("optimizer", "lr", "flip"), [("sgd", 0.4 * 16 / 128, True), ("adamw", 0.01, False)]
)
def test_train_hint_is_a_valid_train_command(
    tmp_path: Path, optimizer: str, lr: float, flip: bool
) -> None:
    genome = tmp_path / "my run" / "genome.json"
    genome.parent.mkdir()
    genome.write_text(SearchSpace.table1(scale="tiny").base.to_json())
    hint = train_hint(
        genome, tmp_path / "no such data", tmp_path / "my run", 16, optimizer, flip=flip
    )
    argv = shlex.split(hint)
    assert argv[:2] == ["autotsnet", "train"] and argv[2] == str(genome)
    assert argv[argv.index("--batch-size") + 1] == "16"
    assert float(argv[argv.index("--lr") + 1]) == pytest.approx(lr)
    assert ("--optimizer" in argv) == (optimizer == "adamw")
    assert ("--no-flip" in argv) == (not flip)
    # the real `autotsnet train` parses every option and gets as far as opening the data
    result = CliRunner().invoke(app, [*argv[1:], "--no-progress"])
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no such data" in lines[0], result.stderr
