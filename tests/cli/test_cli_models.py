"""CLI: ``zoo``, ``flops``, ``draw``, ``space`` and ``genome`` via Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autotsnet.cli.app import app
from autotsnet.models import zoo
from autotsnet.models.cost import CostReport, estimate
from autotsnet.models.genome import SCHEMA_VERSION, Genome
from autotsnet.models.schema import genome_schema
from autotsnet.models.space import PAPER_SIZES, SearchSpace

runner = CliRunner()


def _run(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "160"})


def _json(*args: str) -> Any:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _genome_dict(name: str = "auto_tsnet_s") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(zoo.get(name).to_json())
    return data


# ---------------------------------------------------------------------------------- zoo
def test_zoo_list_json_and_table() -> None:
    rows = _json("zoo", "list", "--json")
    assert [r["name"] for r in rows] == zoo.names()
    x3d = next(r for r in rows if r["name"] == "x3d_s")
    assert x3d["params_m"] == pytest.approx(3.79, abs=0.01)
    assert x3d["gflops"] == pytest.approx(1.96, rel=0.02)
    assert set(x3d) >= {"description", "params", "gflops", "crop", "paper", "genome_id"}
    table = _run("zoo", "list", "auto_tsnet_*")
    assert table.exit_code == 0
    assert "auto_tsnet_s_noatt" in table.stdout and "x3d_s" not in table.stdout


def test_zoo_show_table_and_json(tmp_path: Path) -> None:
    result = _run("zoo", "show", "auto_tsnet_s")
    assert result.exit_code == 0, result.output
    for text in ("sparse stream", "dense stream", "time_strided_conv", "paper vs ours", "75.4"):
        assert text in result.stdout
    data = _json("zoo", "show", "auto_tsnet_s", "--json")
    assert data["in_table1_space"] is True and data["space_problems"] == []
    assert data["figures"]["paper"]["top1"] == 75.4
    assert Genome.from_dict(data["genome"]) == zoo.get("auto_tsnet_s")
    path = tmp_path / "g.json"
    path.write_text(zoo.get("manual_tsnet_70").to_json(), encoding="utf-8")
    from_file = _json("zoo", "show", str(path), "--json")
    assert from_file["description"] is None and "paper" not in from_file["figures"]
    assert from_file["in_table1_space"] is False
    assert from_file["space_problems"][0].startswith("sparse.groups[4].width = 152")


# -------------------------------------------------------------------------------- flops
def test_flops_json_keys_and_x3d_s_reference() -> None:
    at_160 = _json("flops", "x3d_s", "--json")
    keys = {"params", "gflops_per_view", "gflops_per_video", "views", "sparse_share", "groups"}
    assert keys <= set(at_160)
    assert at_160["method"] == "analytic" and at_160["crop"] == 160
    assert at_160["gflops_per_view"] == pytest.approx(1.96, rel=0.02)
    at_182 = _json("flops", "x3d_s", "--crop", "182", "--views", "30", "--json")
    assert at_182["gflops_per_view"] == pytest.approx(2.72, rel=0.02)
    assert at_182["gflops_per_video"] == pytest.approx(30 * at_182["gflops_per_view"])
    assert [g["width"] for g in at_182["groups"]] == [24, 48, 96, 192]
    two = _json("flops", "auto_tsnet_s", "--frames", "2", "--json")
    assert two["frames"] == {"sparse": 2, "dense": 16}
    assert 0.0 < two["sparse_share"] < 1.0


def test_flops_traced_calls_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    import autotsnet.models.trace as trace

    seen: dict[str, Any] = {}

    def fake_measure(genome: Genome, **kwargs: Any) -> CostReport:
        seen.update(kwargs, name=genome.name)
        return estimate(genome, **kwargs)

    monkeypatch.setattr(trace, "measure", fake_measure)
    data = _json("flops", "x3d_xs", "--traced", "--crop", "64", "--classes", "10", "--json")
    assert seen == {"name": "x3d_xs", "crop": 64, "frames": None, "views": 1, "num_classes": 10}
    assert data["method"] == "traced"


def test_flops_table_output() -> None:
    result = _run("flops", "auto_tsnet_s", "--views", "30")
    assert result.exit_code == 0, result.output
    assert "cost per view" in result.stdout and "fusion" in result.stdout
    assert "30 views" in result.stdout


# --------------------------------------------------------------------------------- draw
@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_draw_writes_a_figure(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"fig.{suffix}"
    result = _run("draw", "auto_tsnet_s", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 10_000
    assert "wrote" in result.stdout


# -------------------------------------------------------------------------------- space
def test_space_json_matches_the_library() -> None:
    data = _json("space", "--json")
    sp = SearchSpace.table1()
    for step in ("sparse", "dense", "attention"):
        assert data["steps"][step]["size"] == sp.size(step)
        assert data["steps"][step]["paper"] == PAPER_SIZES[step]
    assert data["steps"]["total"]["size"] == sp.size()
    assert "8.07e+24" in data["steps"]["sparse"]["note"]
    assert "~90x" in data["steps"]["dense"]["note"]
    assert "exact" in data["steps"]["attention"]["note"]
    bounds = data["gflops_per_view"]["full"]
    assert bounds["min"] < bounds["base"] < bounds["max"]
    tiny = _json("space", "--scale", "tiny", "--json")
    assert tiny["crop"] == 32 and tiny["steps"]["total"]["size"] == sp.size()


def test_space_table() -> None:
    result = _run("space")
    assert result.exit_code == 0, result.output
    assert "3.31e+24" in result.stdout and "4,096" in result.stdout
    assert _run("space", "--scale", "huge").exit_code == 2


def test_space_flops_targets() -> None:
    """Each step's FLOPs range, and the target at the paper's place in it."""
    full = _json("space", "--json")["targets"]
    assert [r["step"] for r in full] == ["sparse", "dense", "attention"]
    for row, paper in zip(full, (1.4, 2.0, 2.5), strict=True):
        # at the paper's own scale and inputs, the target at the paper's place is the paper's
        assert row["target_gflops"] == pytest.approx(paper, rel=1e-9)
        assert row["min_gflops"] < paper < row["max_gflops"]
        assert 0.05 < row["paper_place"] < 0.2  # the paper searches near the cheap end
    tiny = _json("space", "--scale", "tiny", "--frames", "4,8", "--classes", "4", "--json")
    own = _json("space", "--scale", "tiny", "--classes", "4", "--json")
    for row, ref, base in zip(tiny["targets"], full, own["targets"], strict=True):
        assert row["paper_place"] == pytest.approx(ref["paper_place"])
        lo, hi = row["min_gflops"], row["max_gflops"]
        assert row["target_gflops"] == pytest.approx(lo + row["paper_place"] * (hi - lo))
        assert row["min_gflops"] > base["min_gflops"]  # 4 sparse frames cost more than 2
    table = _run("space", "--scale", "tiny", "--frames", "4,8", "--classes", "4")
    assert table.exit_code == 0 and "13.7% (1.4)" in table.stdout
    for bad, match in (
        (["--frames", "4,x"], "--frames '4,x': expected comma-separated integers"),
        (["--frames", "4"], "--frames '4': expected two values, sparse,dense"),
        (
            ["--frames", "3,8"],
            "--frames (3, 8): both must be positive and dense frames a multiple of sparse",
        ),
        (
            ["--frames", "4,0"],
            "--frames (4, 0): both must be positive and dense frames a multiple of sparse",
        ),
        (["--classes", "0"], "--classes 0: must be at least 1"),
    ):
        result = _run("space", *bad)
        assert result.exit_code == 2
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and match in lines[0]


# ------------------------------------------------------------------------------- genome
def test_genome_schema_and_validate(tmp_path: Path) -> None:
    assert json.loads(_run("genome", "schema").stdout) == genome_schema()
    good = tmp_path / "good.json"
    good.write_text(zoo.get("auto_tsnet_s").to_json(), encoding="utf-8")
    data = _json("genome", "validate", str(good), "--json")
    assert data["valid"] is True and data["in_table1_space"] is True
    outside = _genome_dict()
    outside["sparse"]["groups"][4]["width"] = 100
    path = tmp_path / "outside.json"
    path.write_text(json.dumps(outside), encoding="utf-8")
    assert _run("genome", "validate", str(path)).exit_code == 0
    strict = _run("genome", "validate", str(path), "--in-space")
    assert strict.exit_code == 2
    assert strict.stderr.strip().endswith(
        "outside the Table 1 search space: sparse.groups[4].width = 100: "
        "must be one of 128, 144, 160, 176"
    )


# ------------------------------------------------------------------------ bad genome files
def _bad_files(tmp: Path) -> dict[str, tuple[str, str]]:
    """case -> (argument, text the one-line error must contain)."""
    cases: dict[str, tuple[Any, str]] = {
        "invalid JSON": ('{"sparse": ', "invalid JSON at line 1"),
        "wrong types": ({"sparse.groups.0.width": "wide"}, "sparse.groups[0].width = 'wide'"),
        "unknown fields": ({"sparse.colour": "red"}, "sparse.colour: unknown field"),
        "kernel outside": ({"sparse.groups.3.temporal_kernel": 4}, "must be one of 1, 3, 5"),
        "fusion outside": ({"fusion.0": "sum"}, "fusion[0] = 'sum': must be one of none"),
        "future schema": ({"schema_version": SCHEMA_VERSION + 1}, "newer than this autotsnet"),
    }
    out: dict[str, tuple[str, str]] = {}
    for i, (case, (change, expected)) in enumerate(cases.items()):
        path = tmp / f"bad{i}.json"
        if isinstance(change, str):
            path.write_text(change, encoding="utf-8")
        else:
            data = _genome_dict()
            for dotted, value in change.items():
                *keys, last = dotted.split(".")
                node: Any = data
                for key in keys:
                    node = node[int(key)] if key.isdigit() else node[key]
                node[int(last) if last.isdigit() else last] = value
            path.write_text(json.dumps(data), encoding="utf-8")
        out[case] = (str(path), expected)
    out["missing file"] = (str(tmp / "missing.json"), "missing.json: no such file")
    out["unknown model"] = ("no_such_net", "unknown zoo model 'no_such_net'")
    return out


COMMANDS = {
    "flops": ("flops", "{arg}", "--json"),
    "zoo show": ("zoo", "show", "{arg}"),
    "draw": ("draw", "{arg}", "-o", "{tmp}/fig.png"),
    "validate": ("genome", "validate", "{arg}"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_genomes_exit_2_with_one_line(tmp_path: Path, command: str) -> None:
    for case, (arg, expected) in _bad_files(tmp_path).items():
        if command == "validate" and case == "unknown model":
            continue  # validate takes files only
        args = [a.format(arg=arg, tmp=tmp_path) for a in COMMANDS[command]]
        result = _run(*args)
        assert result.exit_code == 2, (case, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (case, result.stderr)
        assert lines[0].startswith("error: ") and expected in lines[0], (case, lines[0])
        assert "Traceback" not in result.output and result.stdout == "", case
    assert not (tmp_path / "fig.png").exists()


def test_draw_errors_are_one_line(tmp_path: Path) -> None:
    for out, expected in (
        (tmp_path / "fig.gif", "unsupported figure format 'gif'"),
        (tmp_path / "no" / "fig.png", "no such folder"),
    ):
        result = _run("draw", "x3d_s", "-o", str(out))
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and expected in result.stderr
