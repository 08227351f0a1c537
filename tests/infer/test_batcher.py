"""MicroBatcher: concurrent submissions share runs, within max_rows, errors reach everyone."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from autotsnet.infer.batcher import MicroBatcher


def _feeds(rows: int, value: float) -> dict[str, np.ndarray]:
    return {"x": np.full((rows, 2), value, dtype=np.float32)}


async def _gather(batcher: MicroBatcher, sizes: list[int]) -> list[np.ndarray]:
    await batcher.start()
    try:
        jobs = [batcher.submit(_feeds(n, float(i))) for i, n in enumerate(sizes)]
        return list(await asyncio.gather(*jobs))
    finally:
        await batcher.stop()


def test_concurrent_submissions_are_merged_and_split_back() -> None:
    runs: list[int] = []
    seen: list[tuple[int, int]] = []

    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        runs.append(feeds["x"].shape[0])
        return feeds["x"] * 10

    batcher = MicroBatcher(
        run, max_rows=64, max_wait_s=0.2, on_batch=lambda r, n, s: seen.append((r, n))
    )
    outs = asyncio.run(_gather(batcher, [2, 3, 1]))
    assert runs == [6] and seen == [(3, 6)]
    for i, (out, n) in enumerate(zip(outs, [2, 3, 1], strict=True)):
        assert out.shape == (n, 2) and np.all(out == 10.0 * i)


def test_max_rows_splits_batches_and_big_jobs_run_alone() -> None:
    runs: list[int] = []

    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        runs.append(feeds["x"].shape[0])
        return feeds["x"]

    outs = asyncio.run(_gather(MicroBatcher(run, max_rows=4, max_wait_s=0.2), [3, 2, 9, 1]))
    assert [o.shape[0] for o in outs] == [3, 2, 9, 1]
    assert max(runs) == 9 and sum(runs) == 15
    assert all(n <= 4 for n in runs if n != 9)


def test_errors_reach_every_request_of_the_batch() -> None:
    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        raise RuntimeError("boom")

    async def go() -> list[object]:
        batcher = MicroBatcher(run, max_rows=8, max_wait_s=0.1)
        await batcher.start()
        try:
            jobs = [batcher.submit(_feeds(1, 0.0)) for _ in range(3)]
            return list(await asyncio.gather(*jobs, return_exceptions=True))
        finally:
            await batcher.stop()

    results = asyncio.run(go())
    assert all(isinstance(r, RuntimeError) for r in results)


def test_submit_before_start_is_an_error() -> None:
    batcher = MicroBatcher(lambda f: f["x"])
    with pytest.raises(RuntimeError, match="start"):
        asyncio.run(batcher.submit(_feeds(1, 0.0)))


def test_pending_callback_lets_lone_requests_run_at_once_and_others_wait() -> None:
    runs: list[int] = []
    pending = [0]

    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        runs.append(feeds["x"].shape[0])
        return feeds["x"]

    async def go() -> float:
        batcher = MicroBatcher(run, max_rows=64, max_wait_s=5.0, pending=lambda: pending[0])
        await batcher.start()
        try:
            t0 = asyncio.get_running_loop().time()
            await batcher.submit(_feeds(1, 0.0))  # nobody else is coming: no 5 s wait
            lone = asyncio.get_running_loop().time() - t0
            pending[0] = 1  # a second request is still decoding: the first one waits for it

            async def late() -> np.ndarray:
                await asyncio.sleep(0.2)
                pending[0] = 0
                return await batcher.submit(_feeds(2, 1.0))

            await asyncio.gather(batcher.submit(_feeds(1, 2.0)), late())
            return lone
        finally:
            await batcher.stop()

    lone = asyncio.run(go())
    assert lone < 1.0 and runs == [1, 3]
