"""The progressive search: planted cost answer, inheritance, outputs, resume and bad input."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from autotsnet.models.cost import estimate
from autotsnet.models.space import SearchSpace
from autotsnet.search.config import (
    ADDED_FIELDS,
    SearchConfig,
    SearchError,
    parse_steps,
    plan_steps,
)
from autotsnet.search.data import TensorSearchData
from autotsnet.search.progressive import flops_bounds, run_search, search_space


def _cfg(**kw: object) -> SearchConfig:
    base: dict[str, object] = {
        "targets_gflops": (0.005, 0.008, 0.009),
        "epochs": (2, 1, 1),
        "space_scale": "tiny",
        "samples": 2,
        "lr_weights": 0.05,
        "lr_alpha": 0.1,
        "max_iters": 2,
    }
    base.update(kw)
    return SearchConfig(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("baseline", ["none", "mean"])
def test_target_forcing_the_cheapest_choices(
    tmp_path: Path,
    tiny_space: SearchSpace,
    make_data: Callable[..., TensorSearchData],
    baseline: str,
) -> None:
    cfg = _cfg(steps=("sparse",), epochs=(6,), targets_gflops=(1.0,), max_iters=4, samples=4)
    plan = plan_steps(cfg)[0]
    lo, hi = flops_bounds(tiny_space, cfg, plan, 3, {}, free_previous=True)
    target = lo + 0.15 * (hi - lo)
    cfg = _cfg(
        steps=("sparse",),
        epochs=(8,),
        max_iters=4,
        samples=4,
        lr_alpha=0.3,
        beta=2.0,
        targets_gflops=(target / 1e9,),
        baseline=baseline,
    )
    res = run_search(cfg, make_data(), tmp_path)
    recs = [json.loads(line) for line in (tmp_path / "search.jsonl").read_text().splitlines()]
    assert recs[-1]["entropy"] < recs[0]["entropy"] < recs[0]["max_entropy"] + 1e-6
    assert recs[-1]["expected_gflops"] < recs[0]["expected_gflops"]
    assert estimate(res.genome, num_classes=3).flops <= 1.1 * target
    # the expensive expansions lose: most groups put their highest probability on e <= 3.0
    alpha = recs[-1]["alpha"]
    exp = [v for k, v in alpha.items() if k.endswith(".expansion")]
    assert sum(int(max(range(7), key=p.__getitem__)) <= 2 for p in exp) >= len(exp) // 2 + 1


def test_progressive_outputs_inheritance_and_resume(
    tmp_path: Path, make_data: Callable[..., TensorSearchData]
) -> None:
    cfg = _cfg()
    a = tmp_path / "a"
    res = run_search(cfg, make_data(), a)
    names = {p.name for p in a.iterdir()}
    for f in (
        "genome.json",
        "genome_step1_sparse.json",
        "genome_step2_dense.json",
        "genome_step3_attention.json",
        "search.jsonl",
        "entropy.png",
        "flops.png",
        "supernet.png",
        "alpha_sparse.png",
        "alpha_dense.png",
        "alpha_attention.png",
        "checkpoint.pt",
    ):
        assert f in names
    step1 = json.loads((a / "genome_step1_sparse.json").read_text())
    final = json.loads((a / "genome.json").read_text())
    assert step1["dense"] is None and final["dense"] is not None
    assert final["sparse"]["groups"] == step1["sparse"]["groups"]  # step 1's choice is fixed
    assert res.genome.to_dict()["sparse"]["groups"] == step1["sparse"]["groups"]
    recs = [json.loads(line) for line in (a / "search.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == ["sparse", "sparse", "dense", "attention"]
    assert set(recs[2]["entropy_per_step"]) == {"sparse", "dense"}
    for r in recs:  # the classifier head's live hidden units are logged every epoch
        assert 0 < r["head_alive_units"] <= r["head_hidden_units"] == 64
    # resume: interrupted twice, same genome and same log as the uninterrupted run
    b = tmp_path / "b"
    assert not run_search(cfg, make_data(), b, stop_after_epochs=1).finished
    assert not run_search(cfg, make_data(), b, resume=True, stop_after_epochs=2).finished
    assert run_search(cfg, make_data(), b, resume=True).finished
    assert (a / "genome.json").read_text() == (b / "genome.json").read_text()
    recs_b = [json.loads(line) for line in (b / "search.jsonl").read_text().splitlines()]
    assert [r["entropy"] for r in recs_b] == [r["entropy"] for r in recs]
    with pytest.raises(SearchError, match="different search"):
        run_search(_cfg(samples=3), make_data(), b, resume=True)
    with pytest.raises(SearchError, match="--resume"):
        run_search(cfg, make_data(), b)


def test_step2_inherits_step1_weights(
    tmp_path: Path, make_data: Callable[..., TensorSearchData]
) -> None:
    """Stop right after step 1; the sparse weights step 2 starts from are step 1's."""
    cfg = _cfg()
    run_search(cfg, make_data(), tmp_path, stop_after_epochs=2)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["step_index"] == 1 and state["epoch"] == 0
    sparse_before = {k: v.clone() for k, v in state["supernet"].items() if k.startswith("sparse.")}
    # a dense-step run from this checkpoint starts from exactly these weights
    from autotsnet.search.supernet import Supernet

    space = search_space(cfg)
    net = Supernet(space.max_cost_genome(), num_classes=3)
    net.load_state_dict(state["supernet"])
    g1 = space.decode(state["fixed"], base=space.base_for_step("dense"))
    sub = net.subnet(g1)
    sparse: Any = sub.sparse
    w = sparse.groups[0][0].conv_a.weight
    ref = sparse_before["sparse.groups.0.0.conv_a.weight"][: w.shape[0], : w.shape[1]]
    torch.testing.assert_close(w, ref)
    assert any(not torch.equal(v, state["supernet"][k]) for k, v in sparse_before.items()) is False


def test_one_step_mode(tmp_path: Path, make_data: Callable[..., TensorSearchData]) -> None:
    cfg = _cfg(one_step=True)
    plans = plan_steps(cfg)
    assert len(plans) == 1 and plans[0].epochs == 4 and plans[0].target_gflops == 0.009
    res = run_search(_cfg(one_step=True, epochs=(1, 1, 1)), make_data(), tmp_path)
    assert res.finished and res.genome.dense is not None
    recs = [json.loads(line) for line in (tmp_path / "search.jsonl").read_text().splitlines()]
    assert recs[0]["step"] == "one_step" and recs[0]["max_entropy"] > 100


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"targets_gflops": (1e-6, 0.008, 0.009)}, "infeasible.*GFLOPs per view"),
        ({"targets_gflops": (5.0, 0.008, 0.009)}, "infeasible"),
        ({"epochs": (1, 1)}, "need 3"),
        ({"steps": ("dense", "sparse")}, "order"),
        ({"optimizer": "adam"}, "--optimizer 'adam': must be sgd or adamw"),
        ({"baseline": "median"}, "--baseline 'median': must be none or mean"),
        ({"baseline": "mean", "samples": 1}, "--baseline mean needs at least 2 samples"),
        ({"head_norm": "ln"}, "--head-norm 'ln': must be none or bn"),
        ({"head_norm": "bn", "alpha_batch_size": 1}, "--head-norm bn needs at least 2 clips"),
    ],
)
def test_bad_input(
    tmp_path: Path, kw: dict[str, object], match: str, make_data: Callable[..., TensorSearchData]
) -> None:
    with pytest.raises(SearchError, match=match):
        run_search(_cfg(**kw), make_data(), tmp_path)


def test_parse_steps() -> None:
    assert parse_steps("sparse,attention") == ("sparse", "attention")
    for bad in ("", "sparse,sparse", "fast"):
        with pytest.raises(SearchError):
            parse_steps(bad)


def test_warmup_plan() -> None:
    assert [p.warmup_epochs for p in plan_steps(_cfg(warmup_epochs=(3,)))] == [3, 3, 3]
    plans = plan_steps(_cfg(warmup_epochs=(3, 2, 0)))
    assert [(p.warmup_epochs, p.total_epochs) for p in plans] == [(3, 5), (2, 3), (0, 1)]
    one = plan_steps(_cfg(warmup_epochs=(3, 2, 0), one_step=True))[0]
    assert (one.warmup_epochs, one.epochs) == (5, 4)
    assert [p.warmup_epochs for p in plan_steps(_cfg())] == [0, 0, 0]
    with pytest.raises(SearchError, match="one value or 3"):
        plan_steps(_cfg(warmup_epochs=(1, 2)))
    with pytest.raises(SearchError, match="0 or more"):
        plan_steps(_cfg(warmup_epochs=(-1,)))


def test_warmup_leaves_alpha_uniform_then_search_moves_it(
    tmp_path: Path, make_data: Callable[..., TensorSearchData]
) -> None:
    cfg = _cfg(
        steps=("sparse", "dense"),
        epochs=(1, 1),
        targets_gflops=(0.005, 0.012),
        warmup_epochs=(2, 1),
    )
    a = tmp_path / "a"
    res = run_search(cfg, make_data(), a)
    recs = [json.loads(line) for line in (a / "search.jsonl").read_text().splitlines()]
    assert [(r["step"], r["phase"]) for r in recs] == [
        ("sparse", "warmup"),
        ("sparse", "warmup"),
        ("sparse", "search"),
        ("dense", "warmup"),
        ("dense", "search"),
    ]
    for r in recs:
        if r["phase"] == "warmup":  # alpha untouched: exactly uniform
            assert r["entropy"] == pytest.approx(r["max_entropy"], abs=1e-4)
            assert all(max(p) == min(p) for p in r["alpha"].values())
        else:
            assert r["entropy"] < r["max_entropy"] - 1e-3
    # interrupted inside the warm-up and resumed: the same genome and log
    c = tmp_path / "c"
    assert not run_search(cfg, make_data(), c, stop_after_epochs=1).finished
    first = torch.load(c / "checkpoint.pt", weights_only=False)
    assert not run_search(cfg, make_data(), c, resume=True, stop_after_epochs=1).finished
    second = torch.load(c / "checkpoint.pt", weights_only=False)
    # warm-up epochs train the weights and leave alpha at zero logits
    assert second["epoch"] == 2 and second["step_index"] == 0
    for state in (first, second):
        assert all(not v.any() for v in state["dist"].values())
    w = "sparse.groups.0.0.conv_a.weight"
    assert not torch.equal(first["supernet"][w], second["supernet"][w])
    assert not run_search(cfg, make_data(), c, resume=True, stop_after_epochs=2).finished
    assert run_search(cfg, make_data(), c, resume=True).finished
    assert (c / "genome.json").read_text() == (a / "genome.json").read_text()
    recs_c = [json.loads(line) for line in (c / "search.jsonl").read_text().splitlines()]
    assert [r["entropy"] for r in recs_c] == [r["entropy"] for r in recs]
    assert res.genome.dense is not None


def test_checkpoint_from_before_added_settings_resumes(
    tmp_path: Path, make_data: Callable[..., TensorSearchData]
) -> None:
    """A checkpoint written before a setting existed ran with its default: it resumes."""
    cfg = _cfg(steps=("sparse",), epochs=(2,), targets_gflops=(0.005,))
    a, b = tmp_path / "a", tmp_path / "b"
    run_search(cfg, make_data(), a)
    assert not run_search(cfg, make_data(), b, stop_after_epochs=1).finished
    state = torch.load(b / "checkpoint.pt", weights_only=False)
    for key in ADDED_FIELDS:
        del state["fingerprint"][key]
    torch.save(state, b / "checkpoint.pt")
    with pytest.raises(SearchError, match=r"differs in: optimizer\)"):
        run_search(dataclasses.replace(cfg, optimizer="adamw"), make_data(), b, resume=True)
    assert run_search(cfg, make_data(), b, resume=True).finished
    assert (a / "genome.json").read_text() == (b / "genome.json").read_text()


def test_dead_classifier_head_is_reported(
    tmp_path: Path,
    tiny_space: SearchSpace,
    make_data: Callable[..., TensorSearchData],
    make_parsec: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A head whose hidden ReLUs are all off makes every architecture score alike: counted."""
    from autotsnet.search import progressive
    from autotsnet.search.parsec import Parsec, ParsecConfig
    from autotsnet.search.supernet import Supernet

    p = make_parsec(Parsec, 2, ParsecConfig(samples=2, target_flops=2.0))
    net, base = p.supernet, tiny_space.base_for_step("sparse")
    data = make_data()
    _, alive = progressive._argmax_acc(p, base, data, 0, torch.device("cpu"))
    assert 0 < alive <= 64
    with torch.no_grad():  # pooled features are >= 0: all-negative weights switch every unit off
        net.fc1.weight.copy_(-net.fc1.weight.abs())
    _, alive = progressive._argmax_acc(p, base, data, 0, torch.device("cpu"))
    assert alive == 0
    # and the search says so in its log
    cfg = _cfg(steps=("sparse",), epochs=(1,), targets_gflops=(0.005,), max_iters=1)
    original = Supernet.__init__

    def dead_init(self: Supernet, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        with torch.no_grad():
            self.fc1.weight.copy_(-self.fc1.weight.abs() - 1.0)

    with pytest.MonkeyPatch.context() as mp, caplog.at_level("WARNING"):
        mp.setattr(Supernet, "__init__", dead_init)
        run_search(cfg, make_data(), tmp_path)
    assert any(
        "no hidden unit of the supernet's classifier head" in r.message for r in caplog.records
    )


def test_head_norm_reaches_the_supernet_and_the_genome(
    tmp_path: Path, make_data: Callable[..., TensorSearchData]
) -> None:
    """``head_norm="bn"``: the supernet's head has a BatchNorm1d, no hidden unit is off in any
    epoch, the genome says so, and a resume with the other head is refused."""
    cfg = _cfg(steps=("sparse",), epochs=(2,), targets_gflops=(0.005,), head_norm="bn")
    res = run_search(cfg, make_data(), tmp_path)
    assert res.genome.head.hidden_norm == "bn"
    assert json.loads((tmp_path / "genome.json").read_text())["head"]["hidden_norm"] == "bn"
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["supernet"]["head_bn.running_var"].shape == (64,)
    recs = [json.loads(line) for line in (tmp_path / "search.jsonl").read_text().splitlines()]
    assert all(r["head_alive_units"] == r["head_hidden_units"] == 64 for r in recs)
    with pytest.raises(SearchError, match=r"differs in: head_norm\)"):
        run_search(dataclasses.replace(cfg, head_norm="none"), make_data(), tmp_path, resume=True)
