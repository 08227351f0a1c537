"""Predictor: same views as eval, same scores as `autotsnet eval`, batching, failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from autotsnet.data import TestViews, VideoItem, ViewDataset, sampling_from_genome
from autotsnet.infer import ExportOptions, Predictor, export_onnx, load_spec
from autotsnet.infer.errors import BackendUnavailableError, InferError
from autotsnet.infer.preprocess import ViewBuilder
from autotsnet.infer.runtime import cuda_available
from autotsnet.models import Genome, VideoNet
from autotsnet.train.checkpoint import load_model_from_checkpoint
from autotsnet.train.evaluate import evaluate, predict_scores

from .conftest import VIEWS

TOL = 1e-4


@pytest.fixture(scope="module")
def predictor(exported: Path) -> Predictor:
    return Predictor.from_export(exported, provider="cpu", threads=1)


def test_views_match_eval_dataset(exported: Path, genome: Genome, videos: list[Path]) -> None:
    spec, _ = load_spec(exported)
    builder = ViewBuilder.from_spec(spec)
    views = TestViews.parse(VIEWS, spec=genome.sparse.input)
    assert builder.views == views
    ds = ViewDataset([VideoItem(videos[0], 0)], sampling_from_genome(genome), views)
    want, _, ok, _ = ds[0]
    got = builder(videos[0])
    assert ok and len(got) == len(want) == 2
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape == (2, 3, a.shape[2], 32, 32)
        assert torch.equal(a, b)


def test_predictor_matches_autotsnet_eval(
    predictor: Predictor, checkpoint: Path, synth: Path, genome: Genome
) -> None:
    result = evaluate(checkpoint, synth, views=VIEWS, split="val")
    assert result["num_evaluated"] == 2
    model, _, _ = load_model_from_checkpoint(checkpoint)
    views = TestViews.parse(VIEWS, spec=genome.sparse.input)
    for row in result["predictions"]:
        got = predictor.predict(row["path"])
        assert got.scores is not None
        assert int(np.argmax(got.scores)) == row["pred"]
        assert abs(float(got.scores.max()) - row["score"]) <= TOL
        # Whole score vectors, with eval's own aggregation function.
        ds = ViewDataset([VideoItem(Path(row["path"]), 0)], sampling_from_genome(genome), views)
        clips = ds[0][0]
        want = predict_scores(model, clips, "mean").numpy()
        assert np.abs(got.scores - want).max() <= TOL
        assert abs(float(got.scores.sum()) - 1.0) < 1e-5


def test_module_predictor_matches_onnx(
    predictor: Predictor,
    model: VideoNet,
    genome: Genome,
    class_names: list[str],
    videos: list[Path],
) -> None:
    eager = Predictor.from_module(model, genome, class_names, views=VIEWS)
    assert eager.providers == ["torch:cpu"]
    for a, b in zip(eager.predict_many(videos), predictor.predict_many(videos), strict=True):
        assert a.scores is not None and b.scores is not None
        assert np.abs(a.scores - b.scores).max() <= TOL


def test_predict_many_batches_and_reports_damaged(
    predictor: Predictor, videos: list[Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00not a video" * 100)
    paths = [videos[0], bad, videos[1], videos[2]]
    results = predictor.predict_many(paths, batch_videos=2)
    assert [r.ok for r in results] == [True, False, True, True]
    assert results[1].error and results[1].top() == []
    assert results[1].to_dict() == {"path": str(bad), "ok": False, "error": results[1].error}
    for r, p in zip(results, paths, strict=True):
        if r.ok:
            single = predictor.predict(p)
            assert r.scores is not None and single.scores is not None
            assert np.abs(r.scores - single.scores).max() <= 1e-6
            top = r.top(1)[0]
            assert top[0] in predictor.class_names and 0.0 < top[1] <= 1.0


def test_view_mean_export_gives_the_same_scores(
    predictor: Predictor,
    model: VideoNet,
    genome: Genome,
    class_names: list[str],
    videos: list[Path],
    tmp_path: Path,
) -> None:
    options = ExportOptions(head="view_mean", views=VIEWS)
    export_onnx(model, genome, tmp_path, class_names=class_names, options=options)
    in_graph = Predictor.from_export(tmp_path, provider="cpu", threads=1)
    assert in_graph.rows_per_video == 1 and predictor.rows_per_video == 2
    for a, b in zip(in_graph.predict_many(videos), predictor.predict_many(videos), strict=True):
        assert a.scores is not None and b.scores is not None
        assert np.abs(a.scores - b.scores).max() <= 1e-5
    with pytest.raises(InferError, match="--view-mean"):
        Predictor.from_export(tmp_path, provider="cpu", agg="max")


def test_max_aggregation_and_view_override(exported: Path, videos: list[Path]) -> None:
    p = Predictor.from_export(exported, provider="cpu", views="3x1", agg="max", threads=1)
    assert p.num_views == 3
    feeds = p.load_views(videos[0])
    assert feeds["sparse"].shape[0] == 3 and feeds["dense"].shape[0] == 3
    rows = p.run(feeds)
    scores = p.aggregate(rows)
    e = np.exp(rows - rows.max(1, keepdims=True))
    np.testing.assert_allclose(scores, (e / e.sum(1, keepdims=True)).max(0), atol=1e-6)
    with pytest.raises(InferError, match="--agg"):
        Predictor.from_export(exported, provider="cpu", agg="median")


@pytest.mark.skipif(cuda_available(), reason="checks the no-GPU error")
@pytest.mark.parametrize("provider", ["cuda", "tensorrt"])
def test_gpu_provider_without_gpu_is_a_clear_error(exported: Path, provider: str) -> None:
    with pytest.raises(BackendUnavailableError, match="needs a CUDA GPU"):
        Predictor.from_export(exported, provider=provider)
