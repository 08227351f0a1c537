"""Multi-view video classification with an exported model (or a PyTorch module).

::

    video ─ decode once ─ all views (clips x crops) ─ one batched run ─ softmax ─ mean/max ─ top-k

Typical use::

    from autotsnet.infer import Predictor
    predictor = Predictor.from_export("exports/auto_tsnet_s")      # ONNX Runtime, CUDA or CPU
    result = predictor.predict("video.mp4")
    result.top(5)   # [("left", 0.91), ("right", 0.05), ...]

The scores are what ``autotsnet eval`` computes for the same checkpoint and views (the
mean, or max, of the per-view softmax); a test checks this within 1e-4.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from autotsnet.data.errors import VideoDecodeError
from autotsnet.data.sampling import StreamSampling
from autotsnet.data.transforms import KINETICS_MEAN, KINETICS_STD
from autotsnet.data.views import TestViews
from autotsnet.infer.errors import InferError
from autotsnet.infer.onnx_export import input_specs
from autotsnet.infer.preprocess import ViewBuilder
from autotsnet.infer.runtime import OnnxRunner, Runner, TorchRunner
from autotsnet.infer.spec import ExportSpec, Head, Preprocess, TensorSpec, load_spec
from autotsnet.infer.wrappers import output_name, wrap
from autotsnet.models.genome import Genome

__all__ = ["AGGREGATIONS", "Prediction", "Predictor"]

logger = logging.getLogger(__name__)

AGGREGATIONS: tuple[str, ...] = ("mean", "max")
Feeds = dict[str, np.ndarray]


@dataclass(frozen=True)
class Prediction:
    """The result for one video.

    Attributes:
        path: The video.
        class_names: Class names in label order.
        scores: Aggregated class probabilities ``(classes,)``, or None when it failed.
        error: Why the video could not be classified (empty when it could).
    """

    path: str
    class_names: tuple[str, ...]
    scores: np.ndarray | None
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the video was classified."""
        return self.scores is not None

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable ``(class, probability)`` pairs, best first."""
        if self.scores is None:
            return []
        k = max(1, min(k, len(self.class_names)))
        order = np.argsort(-self.scores, kind="stable")[:k]
        return [(self.class_names[i], float(self.scores[i])) for i in order]

    def to_dict(self, k: int = 5) -> dict[str, Any]:
        """JSON-able form with the top ``k`` labels."""
        if self.scores is None:
            return {"path": self.path, "ok": False, "error": self.error}
        return {
            "path": self.path,
            "ok": True,
            "top": [{"label": n, "probability": p} for n, p in self.top(k)],
        }


class Predictor:
    """Decode, build views, run batched, aggregate.

    Args:
        runner: The backend (see :mod:`autotsnet.infer.runtime`).
        spec: The model's sidecar (input names, head, classes, preprocessing).
        views: Test views ``CLIPSxCROPS`` (default: the sidecar's).
        agg: ``mean`` or ``max`` of the per-view softmax.
        max_batch: Most rows per run (default: no limit).
    """

    def __init__(
        self,
        runner: Runner,
        spec: ExportSpec,
        *,
        views: str | None = None,
        agg: str = "mean",
        max_batch: int | None = None,
        builder: ViewBuilder | None = None,
    ) -> None:
        if agg not in AGGREGATIONS:
            raise InferError(f"--agg must be one of {', '.join(AGGREGATIONS)}, got {agg!r}")
        if agg != "mean" and spec.head == "view_mean":
            raise InferError(
                "this model averages views inside the graph (exported with --view-mean); "
                "--agg max needs an export without it"
            )
        self.runner = runner
        self.spec = spec
        self.agg = agg
        self.max_batch = max_batch
        self.builder = builder or ViewBuilder.from_spec(spec, views)
        self.class_names = spec.class_names

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_export(
        cls,
        path: str | Path,
        *,
        provider: str = "auto",
        views: str | None = None,
        agg: str = "mean",
        threads: int | None = None,
        max_batch: int | None = None,
    ) -> Predictor:
        """Load an ``autotsnet export`` folder (or a Triton model folder).

        ONNX exports run with ONNX Runtime on ``provider``; TensorRT exports (``model.ep``)
        with torch-tensorrt on the GPU.

        Raises:
            ModelDirError: Missing or invalid export.
            BackendUnavailableError: The provider cannot run here.
        """
        spec, model_path = load_spec(path)
        clips, crops = _views_of(views or spec.preprocess.views)
        opt = clips * crops
        if spec.backend == "tensorrt":
            from autotsnet.infer.tensorrt import TensorRTRunner

            trt = TensorRTRunner(model_path, spec)
            return cls(trt, spec, views=views, agg=agg, max_batch=max_batch)
        if spec.backend != "onnx":
            raise InferError(f"{path}: unknown backend {spec.backend!r} in model.json")
        runner = OnnxRunner(
            model_path,
            spec,
            provider=provider,
            threads=threads,
            max_batch=max_batch or max(32, opt),
            opt_batch=opt,
        )
        return cls(runner, spec, views=views, agg=agg, max_batch=max_batch)

    @classmethod
    def from_module(
        cls,
        model: nn.Module,
        genome: Genome,
        class_names: Sequence[str],
        *,
        views: str = "10x1",
        agg: str = "mean",
        mean: tuple[float, float, float] = KINETICS_MEAN,
        std: tuple[float, float, float] = KINETICS_STD,
        device: str | torch.device = "cpu",
        max_batch: int | None = None,
    ) -> Predictor:
        """Run a PyTorch network eagerly, with the views ``autotsnet eval`` would use.

        The crop follows ``autotsnet eval``: the train crop for one crop per clip, the test
        crop for several.
        """
        try:
            tv = TestViews.parse(views, spec=genome.sparse.input)
        except ValueError as exc:
            raise InferError(f"--views: {exc}") from None
        head: Head = "logits"
        specs = input_specs(genome, crop=tv.crop)
        spec = ExportSpec(
            backend="torch",
            model_file="",
            genome=genome,
            class_names=tuple(class_names),
            inputs=specs,
            outputs=(TensorSpec(output_name(head), "float32", ("batch", len(class_names))),),
            head=head,
            preprocess=Preprocess(mean, std, tv.short_side, tv.crop, views=str(tv)),
            name=genome.name,
        )
        builder = ViewBuilder.create([_sampling(s) for s in specs], tv, mean=mean, std=std)
        runner = TorchRunner(wrap(model, head), [s.name for s in specs], device)
        return cls(runner, spec, agg=agg, max_batch=max_batch, builder=builder)

    # ------------------------------------------------------------------ steps
    @property
    def providers(self) -> list[str]:
        """Where the model runs."""
        return self.runner.providers

    @property
    def num_views(self) -> int:
        """Views per video."""
        return self.builder.num_views

    @property
    def rows_per_video(self) -> int:
        """Rows one video adds to a batch (its views, or 1 with in-graph view averaging)."""
        return 1 if self.spec.views_axis else self.num_views

    def load_views(self, path: str | Path) -> Feeds:
        """Decode ``path`` once and return the graph inputs of all its views.

        Raises:
            VideoDecodeError: If the video cannot be decoded.
        """
        clips = self.builder(path)
        names = [t.name for t in self.spec.inputs]
        if self.spec.views_axis:
            return {n: c.unsqueeze(0).numpy() for n, c in zip(names, clips, strict=True)}
        return {n: c.numpy() for n, c in zip(names, clips, strict=True)}

    def run(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run rows (views of one or more videos) in batches of at most ``max_batch``."""
        first = next(iter(feeds.values()))
        rows = int(first.shape[0])
        step = self.max_batch or rows
        outs = []
        for start in range(0, rows, step):
            outs.append(self.runner({k: v[start : start + step] for k, v in feeds.items()}))
        return np.concatenate(outs) if len(outs) > 1 else outs[0]

    def aggregate(self, outputs: np.ndarray) -> np.ndarray:
        """One video's rows of model output -> class probabilities ``(classes,)``."""
        if self.spec.head == "view_mean":
            return np.asarray(outputs[0], dtype=np.float32)
        probs = _softmax(outputs) if self.spec.head == "logits" else outputs
        agg = probs.mean(axis=0) if self.agg == "mean" else probs.max(axis=0)
        return np.asarray(agg, dtype=np.float32)

    def warmup(self) -> None:
        """Run one batch of zeros (builds lazy kernels and TensorRT engines)."""
        feeds = {}
        for t in self.spec.inputs:
            fixed = [d for d in t.shape if isinstance(d, int)]
            lead = (1, self.num_views) if self.spec.views_axis else (self.num_views,)
            feeds[t.name] = np.zeros((*lead, *fixed), dtype=np.float32)
        self.run(feeds)

    # ------------------------------------------------------------------ one call
    def predict(self, path: str | Path) -> Prediction:
        """Classify one video.

        Raises:
            VideoDecodeError: If the video cannot be decoded.
        """
        rows = self.run(self.load_views(path))
        return Prediction(str(path), self.class_names, self.aggregate(rows))

    def predict_many(
        self, paths: Sequence[str | Path], *, batch_videos: int = 4
    ) -> list[Prediction]:
        """Classify videos, running the views of up to ``batch_videos`` videos per batch.

        A video that cannot be decoded gets a :class:`Prediction` with ``error`` set.
        """
        results: dict[int, Prediction] = {}
        pending: list[tuple[int, Feeds]] = []

        def flush() -> None:
            if not pending:
                return
            names = list(pending[0][1])
            joined = {n: np.concatenate([f[n] for _, f in pending]) for n in names}
            out = self.run(joined)
            start = 0
            for idx, f in pending:
                n = int(f[names[0]].shape[0])
                scores = self.aggregate(out[start : start + n])
                results[idx] = Prediction(str(paths[idx]), self.class_names, scores)
                start += n
            pending.clear()

        for idx, path in enumerate(paths):
            try:
                pending.append((idx, self.load_views(path)))
            except VideoDecodeError as exc:
                results[idx] = Prediction(str(path), self.class_names, None, exc.reason)
            if len(pending) >= max(1, batch_videos):
                flush()
        flush()
        return [results[i] for i in range(len(paths))]

    def describe(self) -> dict[str, Any]:
        """Model name, classes, views and providers (for ``/v1/model`` and the CLI)."""
        return {
            "name": self.spec.name,
            "genome_id": self.spec.genome.genome_id,
            "backend": self.spec.backend,
            "head": self.spec.head,
            "precision": self.spec.precision,
            "providers": self.providers,
            "views": str(self.builder.views),
            "num_views": self.num_views,
            "agg": self.agg,
            "crop": self.builder.views.crop,
            "short_side": self.builder.views.short_side,
            "inputs": [t.to_dict() for t in self.spec.inputs],
            "class_names": list(self.class_names),
        }


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x.astype(np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


def _sampling(spec: TensorSpec) -> StreamSampling:
    return StreamSampling(spec.frames or 1, spec.temporal_stride or 1)


def _views_of(text: str) -> tuple[int, int]:
    try:
        v = TestViews.parse(text)
    except ValueError as exc:
        raise InferError(f"--views: {exc}") from None
    return v.clips, v.crops
