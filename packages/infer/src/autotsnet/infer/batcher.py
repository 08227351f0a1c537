"""Micro-batching: concurrent requests share one model run.

Each request submits the rows of its video (its views) and awaits its share of the output::

    submit(A: 10 rows) ─┐
    submit(B: 10 rows) ─┼─ queue ─ wait <= max_wait for more, up to max_rows ─ one run (30 rows)
    submit(C: 10 rows) ─┘                                                     ─ split 10/10/10

The model runs in one dedicated thread, so the event loop keeps accepting and decoding
uploads meanwhile and the session is never called from two threads at once. With a
``pending`` callback (requests still uploading or decoding, which may join), a batch stops
waiting as soon as nobody else can join: a lone request is never delayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MicroBatcher"]

logger = logging.getLogger(__name__)

Feeds = dict[str, np.ndarray]


@dataclass
class _Job:
    feeds: Feeds
    rows: int
    future: asyncio.Future[np.ndarray] = field(repr=False)


class MicroBatcher:
    """Collect concurrent submissions into batched calls of ``run``.

    Args:
        run: Runs one batch of rows (feeds concatenated on axis 0); returns ``(rows, ...)``.
        max_rows: Most rows per run (a single larger submission still runs, alone).
        max_wait_s: How long the first submission waits for others to join.
        on_batch: Called with ``(requests, rows, seconds)`` after each run.
        pending: Number of requests that may still submit (e.g. being decoded); when it is
            0 and the queue is empty, the batch runs without waiting.
    """

    def __init__(
        self,
        run: Callable[[Feeds], np.ndarray],
        *,
        max_rows: int = 64,
        max_wait_s: float = 0.005,
        on_batch: Callable[[int, int, float], None] | None = None,
        pending: Callable[[], int] | None = None,
    ) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self._run = run
        self.max_rows = max_rows
        self.max_wait_s = max(0.0, max_wait_s)
        self._on_batch = on_batch
        self._pending = pending
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._getter: asyncio.Task[_Job] | None = None
        self._carry: _Job | None = None

    async def start(self) -> None:
        """Start the batching loop (call from the event loop that will submit)."""
        self._queue = asyncio.Queue()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autotsnet-infer")
        self._task = asyncio.create_task(self._loop(), name="autotsnet-batcher")

    async def stop(self) -> None:
        """Stop the loop; pending submissions fail with ``CancelledError``."""
        for task in (self._task, self._getter):
            if task is not None:
                task.cancel()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def submit(self, feeds: Feeds) -> np.ndarray:
        """Queue one request's rows and wait for their outputs."""
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not called")
        rows = int(next(iter(feeds.values())).shape[0])
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(feeds, rows, future))
        return await future

    async def _next(self, timeout: float | None) -> _Job | None:
        """The next job, or None after ``timeout``; a timed-out get is kept, never lost."""
        assert self._queue is not None
        if self._carry is not None:
            job, self._carry = self._carry, None
            return job
        if self._getter is None:
            self._getter = asyncio.create_task(self._queue.get())
        done, _ = await asyncio.wait({self._getter}, timeout=timeout)
        if not done:
            return None
        job = self._getter.result()
        self._getter = None
        return job

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._next(None)
            assert first is not None
            batch, rows = [first], first.rows
            deadline = loop.time() + self.max_wait_s
            while rows < self.max_rows:
                if self._nobody_else():
                    break
                job = await self._next(max(0.0, deadline - loop.time()))
                if job is None:
                    break
                if rows + job.rows > self.max_rows:
                    self._carry = job
                    break
                batch.append(job)
                rows += job.rows
            batch = [j for j in batch if not j.future.done()]  # clients that gave up
            if batch:
                await self._execute(batch, loop)

    def _nobody_else(self) -> bool:
        assert self._queue is not None
        return (
            self._pending is not None
            and self._carry is None
            and self._queue.empty()
            and self._pending() <= 0
        )

    async def _execute(self, batch: list[_Job], loop: asyncio.AbstractEventLoop) -> None:
        names = list(batch[0].feeds)
        joined = (
            batch[0].feeds
            if len(batch) == 1
            else {n: np.concatenate([j.feeds[n] for j in batch]) for n in names}
        )
        rows = sum(j.rows for j in batch)
        started = time.perf_counter()
        try:
            out = await loop.run_in_executor(self._pool, self._run, joined)
        except Exception as exc:
            logger.exception("batched run of %d requests failed", len(batch))
            for j in batch:
                if not j.future.done():
                    j.future.set_exception(exc)
            return
        seconds = time.perf_counter() - started
        if self._on_batch is not None:
            self._on_batch(len(batch), rows, seconds)
        start = 0
        for j in batch:
            if not j.future.done():
                j.future.set_result(out[start : start + j.rows])
            start += j.rows
