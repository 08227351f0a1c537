"""Checkpoints: atomic, self-describing, code-free, corruption detected, fallback, pruning."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import pytest
import torch

from autotsnet.models import Genome, build_model
from autotsnet.train.checkpoint import (
    CheckpointError,
    checkpoint_path,
    input_spec,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    load_model_from_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)

TRAINING = {
    "optimizer": {},
    "scheduler": {},
    "scaler": {},
    "rng": {},
    "epoch": 0,
    "batch": 0,
    "step": 0,
    "config": {},
}


def _state(genome: Genome, step: int = 0) -> dict[str, object]:
    torch.manual_seed(step)
    model = build_model(genome, num_classes=3)
    return {
        "genome": genome.to_json(),
        "class_names": ["a", "b", "c"],
        "input": input_spec(genome),
        "model": model.state_dict(),
        **TRAINING,
        "step": step,
    }


class _Payload:
    """Pickles as a call to exec() that would create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def test_roundtrip_is_self_describing(tmp_path: Path, tiny_two_stream: Genome) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, _state(tiny_two_stream))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left
    state = load_checkpoint(path)
    assert state["format"] == "autotsnet.checkpoint" and state["version"] == 1
    assert state["input"]["dense"]["frames"] == 8 and state["input"]["sparse"]["frames"] == 2
    model, genome, cmap = load_model_from_checkpoint(path)
    assert genome == tiny_two_stream and cmap.names == ("a", "b", "c")
    assert not model.training
    ref = build_model(tiny_two_stream, num_classes=3)
    ref.load_state_dict(_state(tiny_two_stream)["model"])  # type: ignore[arg-type]
    ref.eval()
    x = (torch.randn(1, 3, 2, 32, 32), torch.randn(1, 3, 8, 32, 32))
    assert torch.equal(model(*x), ref(*x))


def test_loading_a_model_leaves_global_rng_alone(tmp_path: Path, tiny_two_stream: Genome) -> None:
    save_checkpoint(tmp_path / "c.pt", _state(tiny_two_stream))
    before = torch.get_rng_state()
    load_model_from_checkpoint(tmp_path / "c.pt")
    assert torch.equal(before, torch.get_rng_state())


def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    zipped = tmp_path / "evil.pt"
    torch.save({"format": "autotsnet.checkpoint", "x": _Payload(marker)}, zipped)
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    with pytest.raises(CheckpointError, match=r"evil\.pt: refused: loading it would import"):
        load_checkpoint(zipped)
    with pytest.raises(CheckpointError, match=r"evil\.pkl: (refused|not a checkpoint)"):
        load_checkpoint(raw)
    assert not marker.exists()
    # the same payload does run under a plain pickle load: the test is not vacuous
    pickle.load(io.BytesIO(raw.read_bytes()))
    assert marker.read_text() == "pwned"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"just some text\n", "not a checkpoint"),
        (os.urandom(2048), "not a checkpoint|corrupted|cannot be read"),
    ],
)
def test_non_checkpoint_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_foreign_torch_file_and_missing_file(tmp_path: Path) -> None:
    torch.save({"state_dict": {"w": torch.ones(2)}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an autotsnet checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "missing.pt")


def test_truncation_and_bit_rot_are_detected(tmp_path: Path, tiny_two_stream: Genome) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, _state(tiny_two_stream))
    data = path.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(tmp_path / "trunc.pt")
    # flip one byte inside a tensor payload: the zip layer does not notice, the digest does
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    (tmp_path / "flip.pt").write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(tmp_path / "flip.pt")


def test_latest_falls_back_past_corrupted_newest(tmp_path: Path, tiny_two_stream: Genome) -> None:
    for step in (2, 4, 6):
        save_checkpoint(checkpoint_path(tmp_path, step), _state(tiny_two_stream, step))
    newest = checkpoint_path(tmp_path, 6)
    newest.write_bytes(newest.read_bytes()[:1000])
    warnings: list[str] = []
    found = latest_checkpoint(tmp_path, warn=warnings.append)
    assert found is not None
    assert found[0] == checkpoint_path(tmp_path, 4) and found[1]["step"] == 4
    assert len(warnings) == 1 and "step-000000006.pt" in warnings[0]


def test_prune_keeps_last_k_and_removes_stale_temp_files(
    tmp_path: Path, tiny_two_stream: Genome
) -> None:
    for step in (1, 2, 10, 11):
        save_checkpoint(checkpoint_path(tmp_path, step), _state(tiny_two_stream, step))
    (tmp_path / ".step-000000012.pt.abc.tmp").write_bytes(b"partial")
    prune_checkpoints(tmp_path, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "step-000000010.pt",
        "step-000000011.pt",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "step-000000010.pt",
        "step-000000011.pt",
    ]


def test_weights_that_do_not_fit_the_genome(tmp_path: Path, tiny_two_stream: Genome) -> None:
    state = _state(tiny_two_stream)
    state["class_names"] = ["a", "b"]  # the classifier has 3 outputs
    save_checkpoint(tmp_path / "c.pt", state)
    with pytest.raises(CheckpointError, match="weights do not match"):
        load_model_from_checkpoint(tmp_path / "c.pt")
