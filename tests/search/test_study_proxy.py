"""The study's supernet proxy accuracy: the checkpoint's supernet on every alpha batch."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch

from autotsnet.models.space import SearchSpace
from autotsnet.search.config import SearchConfig
from autotsnet.search.data import TensorSearchData
from autotsnet.search.dynamic import bn_batch_stats_only
from autotsnet.search.progressive import run_search
from autotsnet.search.supernet import Supernet


def test_proxy_accuracy_scores_genomes_in_the_final_supernet(
    tmp_path: Path,
    load_tool: Callable[[str], ModuleType],
    make_data: Callable[..., TensorSearchData],
) -> None:
    study = load_tool("tools/experiments/search_vs_random.py")
    cfg = SearchConfig(
        targets_gflops=(0.005, 0.012),
        epochs=(1, 1),
        steps=("sparse", "dense"),
        one_step=True,
        space_scale="tiny",
        samples=2,
        lr_weights=0.05,
        max_iters=2,
    )
    data = make_data()
    run_search(cfg, data, tmp_path)
    space = SearchSpace.table1(scale="tiny")
    genomes = [space.sample(random.Random(i)) for i in range(2)]
    scores = study.proxy_accuracy(tmp_path, data, genomes)
    # by hand: the checkpoint's supernet, every alpha batch, batch-statistics BN
    net = Supernet(space.max_cost_genome(), num_classes=3)
    net.load_state_dict(torch.load(tmp_path / "checkpoint.pt", weights_only=True)["supernet"])
    for g, score in zip(genomes, scores, strict=True):
        correct = total = 0
        for clips, labels in data.val_batches(0):
            with torch.no_grad(), bn_batch_stats_only(), net.evaluation():
                correct += int((net(clips, g).argmax(1) == labels).sum())
            total += len(labels)
        assert score == correct / total
