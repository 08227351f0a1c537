"""Search checkpoints: atomic save, ``weights_only`` load, refusal of foreign files."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from autotsnet.search.checkpoint import load_checkpoint, save_checkpoint
from autotsnet.search.config import SearchError


def test_round_trip_plain_values(tmp_path: Path) -> None:
    state = {"fixed": {"fusion[0]": "none", "sparse.groups[0].expansion": 1.5}, "step": 2}
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {**state, "w": torch.arange(3)})
    back = load_checkpoint(path)
    assert back["fixed"] == state["fixed"] and back["step"] == 2
    assert torch.equal(back["w"], torch.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary left


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("imported code while loading",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_foreign_or_unsafe_files_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pt"
    torch.save({"step": 1}, plain)  # a torch file, but not a search checkpoint
    with pytest.raises(SearchError, match="not a search checkpoint"):
        load_checkpoint(plain)
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"x": _Evil()}))
    with pytest.raises(SearchError, match="not a usable search checkpoint"):
        load_checkpoint(evil)
    text = tmp_path / "text.pt"
    text.write_text("hello")
    with pytest.raises(SearchError, match=r"text\.pt"):
        load_checkpoint(text)
