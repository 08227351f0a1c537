"""draw_genome: Figure-3-style pictures of one- and two-stream genomes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from autotsnet.models import zoo
from autotsnet.models.draw import draw_genome, genome_figure
from autotsnet.models.space import SearchSpace


def test_png_of_a_two_stream_genome(tmp_path: Path) -> None:
    out = draw_genome(zoo.get("auto_tsnet_s"), tmp_path / "fig.png")
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]  # no temp file left behind


def test_svg_shows_widths_fusion_and_title(tmp_path: Path) -> None:
    genome = zoo.get("auto_tsnet_s")
    text = draw_genome(genome, tmp_path / "fig.svg").read_text(encoding="utf-8")
    assert "<svg" in text
    fig = genome_figure(genome)
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert labels.count("T-conv") == genome.fusion.count("time_strided_conv")
    assert {"296", "144", "48", "1×5²", "stage 3", "stem\n24"} <= set(labels)
    assert genome.genome_id in fig.get_suptitle()
    assert "GFLOPs" in fig.get_suptitle()


def test_single_stream_and_sampled_genomes(tmp_path: Path) -> None:
    fig = genome_figure(zoo.get("x3d_s"), title="X3D-S")
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "dense" not in " ".join(labels) and "192" in labels
    assert fig.get_suptitle() == "X3D-S"
    tiny = SearchSpace.table1(scale="tiny")
    out = draw_genome(tiny.sample(random.Random(0)), tmp_path / "tiny.pdf")
    assert out.read_bytes().startswith(b"%PDF")


def test_bad_suffix_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported figure format 'gif'"):
        draw_genome(zoo.get("x3d_s"), tmp_path / "fig.gif")
    with pytest.raises(OSError):
        draw_genome(zoo.get("x3d_s"), tmp_path / "missing" / "fig.png")
