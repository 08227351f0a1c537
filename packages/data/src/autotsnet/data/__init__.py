"""autotsnet.data: video decoding, two-stream clip sampling, transforms, views and datasets.

The data layer imports nothing from the other autotsnet packages (genomes are duck-typed).
"""

from autotsnet.data.classmap import ClassMap
from autotsnet.data.dataset import IGNORE_LABEL, ClipDataset, ClipOutput, ViewDataset
from autotsnet.data.datasets import (
    VIDEO_EXTENSIONS,
    VideoItem,
    find_videos,
    load_folder,
    load_kinetics_csv,
    load_list,
    open_dataset,
)
from autotsnet.data.decode import (
    VideoInfo,
    VideoReader,
    count_decodable_frames,
    decode_clip,
    probe_video,
)
from autotsnet.data.errors import DataError, VideoDecodeError
from autotsnet.data.failures import FailureLog
from autotsnet.data.loader import EpochSampler, make_loader
from autotsnet.data.normalize import normalize_batch
from autotsnet.data.sampling import ClipSampler, StreamSampling, sampling_from_genome
from autotsnet.data.splits import load_hmdb51, load_ssv2, load_ucf101
from autotsnet.data.transforms import KINETICS_MEAN, KINETICS_STD, CropParams, TrainTransform
from autotsnet.data.views import TestViews

__all__ = [
    "IGNORE_LABEL",
    "KINETICS_MEAN",
    "KINETICS_STD",
    "VIDEO_EXTENSIONS",
    "ClassMap",
    "ClipDataset",
    "ClipOutput",
    "ClipSampler",
    "CropParams",
    "DataError",
    "EpochSampler",
    "FailureLog",
    "StreamSampling",
    "TestViews",
    "TrainTransform",
    "VideoDecodeError",
    "VideoInfo",
    "VideoItem",
    "VideoReader",
    "ViewDataset",
    "count_decodable_frames",
    "decode_clip",
    "find_videos",
    "load_folder",
    "load_hmdb51",
    "load_kinetics_csv",
    "load_list",
    "load_ssv2",
    "load_ucf101",
    "make_loader",
    "normalize_batch",
    "open_dataset",
    "probe_video",
    "sampling_from_genome",
]
