"""Dataset formats parsed from small fixtures: folders, lists, CSV, SSv2, UCF101, HMDB51."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autotsnet.data import (
    ClassMap,
    DataError,
    load_hmdb51,
    load_ssv2,
    load_ucf101,
    open_dataset,
)
from autotsnet.data.synth import SynthInfo


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_class_map_roundtrip(tmp_path: Path) -> None:
    cm = ClassMap(("b", "a", "c"))
    assert len(cm) == 3 and cm.index("a") == 1 and cm.name(2) == "c"
    cm.save(tmp_path / "classes.json")
    assert ClassMap.load(tmp_path / "classes.json") == cm
    assert ClassMap.from_json('["x", "y"]').names == ("x", "y")
    with pytest.raises(DataError, match="duplicate"):
        ClassMap(("a", "a"))
    with pytest.raises(DataError, match="unknown class"):
        cm.index("zz")
    with pytest.raises(DataError, match="no such file"):
        ClassMap.load(tmp_path / "nope.json")


def test_synth_split_layout(synth_root: SynthInfo) -> None:
    train, cm = open_dataset(synth_root.out, "train")
    val, cm_val = open_dataset(synth_root.out, "val")
    assert cm == cm_val and cm.names == synth_root.classes
    assert len(train) == synth_root.train_videos and len(val) == synth_root.val_videos
    assert {it.label for it in train} == set(range(len(cm)))
    assert all(cm.names[it.label] == it.path.parent.name for it in train + val)
    assert len(open_dataset(synth_root.out, "validation")[0]) == len(val)
    assert len(open_dataset(synth_root.out, "all")[0]) == len(train) + len(val)


def test_plain_folder_deterministic_split(tmp_path: Path) -> None:
    for cls in ("walk", "run"):
        for i in range(10):
            _touch(tmp_path / cls / f"{cls}{i}.mp4")
    _touch(tmp_path / "run" / "notes.txt")
    train, cm = open_dataset(tmp_path, "train")
    val, _ = open_dataset(tmp_path, "val")
    assert cm.names == ("run", "walk")
    assert len(train) == 16 and len(val) == 4
    assert not {it.path for it in train} & {it.path for it in val}
    assert [it.path for it in open_dataset(tmp_path, "val")[0]] == [it.path for it in val]
    assert len(open_dataset(tmp_path, "all")[0]) == 20


def test_list_file_int_and_name_labels(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("a/1.mp4 0\n# comment\n\nb/2.mp4 2\n/abs/3.mp4 1\n")
    items, cm = open_dataset(tmp_path / "train.txt")
    assert [it.label for it in items] == [0, 2, 1] and len(cm) == 3
    assert items[0].path == tmp_path / "a/1.mp4" and items[2].path == Path("/abs/3.mp4")
    items, _ = open_dataset(tmp_path / "train.txt", root=Path("/data"))
    assert items[0].path == Path("/data/a/1.mp4")
    (tmp_path / "names.csv").write_text("x/my clip.mp4,dance\ny/2.mp4,bow\n")
    items, cm = open_dataset(tmp_path / "names.csv")
    assert cm.names == ("bow", "dance") and items[0].path.name == "my clip.mp4"
    assert [it.label for it in items] == [1, 0]


@pytest.mark.parametrize(
    ("text", "match"),
    [("a.mp4 0\nb.mp4\n", ":2:"), ("a.mp4 0\nb.mp4 dance\n", ":2: mixes"), ("", "no videos")],
)
def test_list_file_errors_name_the_line(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "l.txt").write_text(text)
    with pytest.raises(DataError, match=match):
        open_dataset(tmp_path / "l.txt")


def test_official_kinetics_csv(tmp_path: Path) -> None:
    root = tmp_path / "videos"
    found = _touch(root / "abseiling" / "AAA_000010_000020.mp4")
    _touch(root / "x" / "BBB_000001_000011.mkv")
    (tmp_path / "train.csv").write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "abseiling,AAA,10,20,train\n"
        '"air drumming",BBB,1,11,train\n'
        "abseiling,CCC,5,15,train\n"
    )
    items, cm = open_dataset(tmp_path / "train.csv", root=root)
    assert cm.names == ("abseiling", "air drumming")
    assert items[0].path == found
    assert items[1].path.name == "BBB_000001_000011.mkv" and items[1].label == 1
    assert items[2].path == root / "abseiling" / "CCC_000005_000015.mp4"  # missing: kept
    (tmp_path / "bad.csv").write_text("label,youtube_id,time_start,time_end\na,b,x,1\n")
    with pytest.raises(DataError, match=r"bad.csv:2:"):
        open_dataset(tmp_path / "bad.csv")


def test_ssv2(tmp_path: Path) -> None:
    labels = {"Pushing something from left to right": "1", "Holding something": "0"}
    (tmp_path / "something-something-v2-labels.json").write_text(json.dumps(labels))
    entries = [
        {"id": "7", "template": "Holding [something]", "label": "holding a cup"},
        {"id": "9", "template": "Pushing [something] from left to right"},
    ]
    (tmp_path / "something-something-v2-train.json").write_text(json.dumps(entries))
    items, cm = load_ssv2(
        tmp_path / "something-something-v2-labels.json",
        tmp_path / "something-something-v2-train.json",
        tmp_path / "videos",
    )
    assert cm.names == ("Holding something", "Pushing something from left to right")
    assert [(it.path.name, it.label) for it in items] == [("7.webm", 0), ("9.webm", 1)]
    auto, cm2 = open_dataset(tmp_path / "something-something-v2-train.json")
    assert cm2 == cm and [it.label for it in auto] == [0, 1]
    (tmp_path / "bad.json").write_text(json.dumps([{"id": "1", "template": "Nope"}]))
    with pytest.raises(DataError, match="unknown template"):
        load_ssv2(tmp_path / "something-something-v2-labels.json", tmp_path / "bad.json", tmp_path)


def test_ucf101(tmp_path: Path) -> None:
    s = tmp_path / "ucfTrainTestlist"
    s.mkdir()
    (s / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 Archery\n")
    (s / "trainlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\nArchery/v_Archery_g08_c01.avi 2\n"
    )
    (s / "testlist01.txt").write_text("Archery/v_Archery_g01_c01.avi\n")
    train, cm = load_ucf101(s, tmp_path / "UCF-101", "train")
    test, _ = load_ucf101(s, tmp_path / "UCF-101", "test")
    assert cm.names == ("ApplyEyeMakeup", "Archery")
    assert [it.label for it in train] == [0, 1] and [it.label for it in test] == [1]
    assert test[0].path == tmp_path / "UCF-101/Archery/v_Archery_g01_c01.avi"
    with pytest.raises(DataError, match="trainlist02"):
        load_ucf101(s, tmp_path, "train", fold=2)


def test_hmdb51(tmp_path: Path) -> None:
    (tmp_path / "brush_hair_test_split1.txt").write_text("a.avi 1\nb.avi 2\nc.avi 0\n")
    (tmp_path / "cartwheel_test_split1.txt").write_text("d.avi 1\ne.avi 2\n")
    train, cm = load_hmdb51(tmp_path, tmp_path / "hmdb51", "train")
    test, _ = load_hmdb51(tmp_path, tmp_path / "hmdb51", "test")
    assert cm.names == ("brush_hair", "cartwheel")
    assert [(it.path.name, it.label) for it in train] == [("a.avi", 0), ("d.avi", 1)]
    assert [(it.path.name, it.label) for it in test] == [("b.avi", 0), ("e.avi", 1)]
    assert train[0].path == tmp_path / "hmdb51" / "brush_hair" / "a.avi"


def test_missing_and_empty_sources(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        open_dataset(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no videos found under"):
        open_dataset(tmp_path / "empty")
    (tmp_path / "x.yaml").write_text("a: 1")
    with pytest.raises(DataError, match="unknown dataset format"):
        open_dataset(tmp_path / "x.yaml")


def test_fixed_class_map_from_checkpoint(synth_root: SynthInfo) -> None:
    cm = ClassMap(tuple(reversed(synth_root.classes)))
    items, used = open_dataset(synth_root.out, "val", class_map=cm)
    assert used is cm
    assert all(cm.names[it.label] == it.path.parent.name for it in items)
