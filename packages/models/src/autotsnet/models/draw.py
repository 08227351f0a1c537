"""Draw a genome in the style of Auto-TSNet's Figure 3 (Gong et al., ICCV 2021).

Each stream is a row of block-group boxes, left to right::

    sparse  [stem]|[40 ][40 ]|[80 ][72 ]|[160][160]*[144][160]*|[296][296][296]  [head]
                       ^         ^          ^          ^
                     T-conv    T-conv     T-conv     T-conv        (dense -> sparse fusion)
    dense   [stem]|[ 8 ][16 ]|[16 ][16 ]|[ 24][ 24] [ 24][ 24] |[ 48][ 48][ 48]  [head]

Box height shows the expansion rate, box length the depth (blocks), the number inside the
output width; the fill colour is the temporal kernel t and hatching marks spatial kernel k = 5
(the label under a box reads ``t×k²``). Stars are GloRe units, arrows the fusion ops, dashed
lines separate stages. Uses matplotlib's object API (no pyplot state), so it is thread-safe
and works headless.
"""

from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch, Rectangle

from autotsnet.models.cost import estimate
from autotsnet.models.genome import Genome, StreamGene

__all__ = ["FORMATS", "T_COLOURS", "draw_genome", "genome_figure"]

FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
"""Output formats :func:`draw_genome` accepts (from the file suffix)."""

T_COLOURS: dict[int, str] = {1: "#9ecae1", 3: "#fdae6b", 5: "#a1d99b"}
"""Box fill per temporal kernel."""

_EDGE = "#3a3a3a"
_FUSION_COLOUR = "#6a3d9a"
_GLORE_COLOUR = "#d62728"
_FUSION_LABEL = {
    "time_to_channel": "T2C",
    "time_strided_sample": "T-sample",
    "time_strided_conv": "T-conv",
}
_H_PER_EXPANSION = 0.19  # box height per unit of expansion (6.0 -> 1.14)
_LABEL_OFFSET = 0.66  # kernel label below, expansion label above the row line
_ROW_GAP = 2.6  # vertical distance between the stream rows
_GAP = 0.42  # horizontal gap between groups (fusion arrows and stars sit here)
_STEM_X, _END_W = 0.25, 0.85  # stem box left edge; stem/head box length


def _box_length(depth: int) -> float:
    return 0.55 + 0.09 * min(depth, 12)


def _columns(genome: Genome) -> list[tuple[float, float]]:
    """Left edge and length of every group column (shared by both streams)."""
    out: list[tuple[float, float]] = []
    x = _STEM_X + _END_W + 0.25
    for i in range(len(genome.sparse.groups)):
        length = _box_length(max(s.groups[i].depth for s in genome.streams.values()))
        out.append((x, length))
        x += length + _GAP
    return out


def _label(ax: Axes, x: float, y: float, text: str, **style: object) -> None:
    ax.text(x, y, text, ha="center", **style)  # type: ignore[arg-type]


def _draw_groups(ax: Axes, stream: StreamGene, y: float, cols: list[tuple[float, float]]) -> None:
    for g, (x, length) in zip(stream.groups, cols, strict=True):
        h = g.expansion * _H_PER_EXPANSION
        box = Rectangle(
            (x, y - h / 2),
            length,
            h,
            facecolor=T_COLOURS.get(g.temporal_kernel, "#dddddd"),
            edgecolor=_EDGE,
            linewidth=0.9,
            hatch="////" if g.spatial_kernel >= 5 else None,
        )
        ax.add_patch(box)
        mid = x + length / 2
        white = {"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.85}
        _label(ax, mid, y, str(g.width), va="center", fontsize=8.5, fontweight="bold", bbox=white)
        kernel = f"{g.temporal_kernel}×{g.spatial_kernel}²"
        _label(ax, mid, y - _LABEL_OFFSET, kernel, va="top", fontsize=7.5, color="#333333")
        above = f"e{g.expansion:g}" + (f" ×{g.depth}" if g.depth > 1 else "")
        _label(ax, mid, y + _LABEL_OFFSET, above, va="bottom", fontsize=6.5, color="#666666")
    for i in stream.glore_after:
        x, length = cols[i]
        ax.plot(
            x + length + _GAP / 2,
            y,
            marker="*",
            markersize=15,
            color=_GLORE_COLOUR,
            markeredgecolor="#7f0000",
            markeredgewidth=0.6,
            zorder=5,
        )


def _draw_stream_ends(ax: Axes, name: str, stream: StreamGene, y: float, head_x: float) -> None:
    ax.plot([_STEM_X + _END_W, head_x], [y, y], color="#b0b0b0", lw=1.2, zorder=0)
    for x0, text in ((_STEM_X, f"stem\n{stream.stem.width}"), (head_x, "head")):
        ax.add_patch(
            FancyBboxPatch(
                (x0, y - 0.3),
                _END_W,
                0.6,
                boxstyle="round,pad=0.02,rounding_size=0.08",
                facecolor="#eeeeee",
                edgecolor=_EDGE,
                linewidth=0.8,
            )
        )
        _label(ax, x0 + _END_W / 2, y, text, va="center", fontsize=7.5)
    inp = stream.input
    ax.text(
        0.1,
        y,
        f"{name}\n{inp.frames}×{inp.train_crop}²\nstride {inp.temporal_stride}",
        ha="right",
        va="center",
        fontsize=9,
        fontweight="bold",
        linespacing=1.3,
    )


def _draw_fusion(
    ax: Axes, genome: Genome, cols: list[tuple[float, float]], y_s: float, y_d: float
) -> None:
    for i, op in enumerate(genome.fusion):
        if op == "none":
            continue
        x = cols[i][0] + cols[i][1] + _GAP / 2
        arrow = FancyArrowPatch(
            (x, y_d + 0.6),
            (x, y_s - 0.6),
            arrowstyle="-|>",
            mutation_scale=11,
            color=_FUSION_COLOUR,
            linewidth=1.4,
            zorder=4,
        )
        ax.add_patch(arrow)
        tag = {"boxstyle": "round,pad=0.18", "fc": "#f2ecf8", "ec": _FUSION_COLOUR, "lw": 0.6}
        _label(
            ax,
            x,
            (y_s + y_d) / 2,
            _FUSION_LABEL.get(op, op),
            rotation=90,
            va="center",
            fontsize=7,
            color="#4a1d7a",
            bbox=tag,
            zorder=6,
        )


def _draw_stages(
    ax: Axes, genome: Genome, cols: list[tuple[float, float]], top: float, bottom: float
) -> None:
    groups = genome.sparse.groups
    starts = [i for i, g in enumerate(groups) if i == 0 or g.stage != groups[i - 1].stage]
    ends = [*starts[1:], len(groups)]
    dashed = {"ls": (0, (4, 3)), "color": "#999999", "lw": 0.8, "zorder": 0}
    for a, b in zip(starts, ends, strict=True):
        left = cols[a][0] - _GAP / 2
        right = cols[b - 1][0] + cols[b - 1][1] + _GAP / 2
        ax.plot([left, left], [bottom, top], **dashed)  # type: ignore[arg-type]
        stage = f"stage {groups[a].stage}"
        _label(ax, (left + right) / 2, top, stage, va="bottom", fontsize=8.5, color="#555555")
    last = cols[-1][0] + cols[-1][1] + _GAP / 2
    ax.plot([last, last], [bottom, top], **dashed)  # type: ignore[arg-type]


def _legend(fig: Figure, genome: Genome) -> None:
    handles: list[Patch | Line2D] = [
        Patch(facecolor=c, edgecolor=_EDGE, label=f"t = {t}") for t, c in T_COLOURS.items()
    ]
    handles.append(Patch(facecolor="white", edgecolor=_EDGE, hatch="////", label="k = 5"))
    handles.append(Patch(facecolor="white", edgecolor=_EDGE, label="k = 3"))
    star = Line2D([], [], marker="*", ls="", color=_GLORE_COLOUR, markersize=12, label="GloRe")
    handles.append(star)
    if genome.dense is not None:
        handles.append(
            Line2D([], [], color=_FUSION_COLOUR, lw=1.4, label="fusion (dense → sparse)")
        )
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=len(handles),
        fontsize=8,
        frameon=False,
        handlelength=1.6,
        columnspacing=1.4,
    )


def _default_title(genome: Genome) -> str:
    cost = estimate(genome)
    crop = genome.sparse.input.train_crop
    share = f", sparse share {cost.sparse_share:.0%}" if genome.dense is not None else ""
    return (
        f"{genome.name or 'genome'} [{genome.genome_id}]  ·  {cost.params_m:.2f} M params  ·  "
        f"{cost.gflops_per_view:.2f} GFLOPs/view at {crop}²{share}"
    )


def genome_figure(genome: Genome, *, title: str | None = None) -> Figure:
    """A matplotlib figure of ``genome`` (see the module docstring for the encoding).

    Args:
        genome: Any genome; single-stream genomes give one row.
        title: Figure title; defaults to name, id, parameters and GFLOPs at the training crop.
    """
    cols = _columns(genome)
    head_x = cols[-1][0] + cols[-1][1] + _GAP + 0.1
    two = genome.dense is not None
    rows = {"sparse": _ROW_GAP if two else 0.0, "dense": 0.0}
    fig = Figure(figsize=(max(7.0, 0.95 * head_x + 2.2), 5.2 if two else 2.9))
    ax = fig.add_axes((0.09, 0.12, 0.9, 0.74 if two else 0.62))
    top, bottom = rows["sparse"] + 0.95, -0.95
    _draw_stages(ax, genome, cols, top, bottom)
    for name, stream in genome.streams.items():
        _draw_groups(ax, stream, rows[name], cols)
        _draw_stream_ends(ax, name, stream, rows[name], head_x)
    if two:
        _draw_fusion(ax, genome, cols, rows["sparse"], rows["dense"])
    ax.set_xlim(-1.25, head_x + 1.0)
    ax.set_ylim(bottom - 0.05, top + 0.35)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.suptitle(title or _default_title(genome), fontsize=11, fontweight="bold", y=0.97)
    _legend(fig, genome)
    return fig


def draw_genome(
    genome: Genome, path: str | Path, *, title: str | None = None, dpi: int = 160
) -> Path:
    """Render ``genome`` to ``path`` (format from its suffix: png, svg or pdf), atomically.

    Raises:
        ValueError: For an unsupported suffix.
        OSError: If the file cannot be written.
    """
    out = Path(path)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"{out}: unsupported figure format {fmt!r} (use {', '.join(FORMATS)})")
    if not out.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"no such folder: {out.parent}", str(out))
    fig = genome_figure(genome, title=title)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("xb") as fh:
            fig.savefig(fh, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.15)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
