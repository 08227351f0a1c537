"""autotsnet.train: training, checkpoints and evaluation.

Typical use::

    from autotsnet.train import TrainConfig, train, evaluate
    report = train(genome, "data/synth", Path("runs/a"), TrainConfig(epochs=30, batch_size=16))
    result = evaluate(Path("runs/a/final.pt"), "data/synth", views="10x3")
"""

from autotsnet.train.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_model_from_checkpoint,
    save_checkpoint,
)
from autotsnet.train.config import TrainConfig, load_run_config
from autotsnet.train.distributed import DistInfo
from autotsnet.train.errors import EvalError, TrainError
from autotsnet.train.evaluate import evaluate, evaluate_model, predict_scores
from autotsnet.train.loop import train

__all__ = [
    "CheckpointError",
    "DistInfo",
    "EvalError",
    "TrainConfig",
    "TrainError",
    "evaluate",
    "evaluate_model",
    "load_checkpoint",
    "load_model_from_checkpoint",
    "load_run_config",
    "predict_scores",
    "save_checkpoint",
    "train",
]
