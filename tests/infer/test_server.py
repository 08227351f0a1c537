"""``autotsnet serve`` as a real uvicorn process on 127.0.0.1, driven by an httpx client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from autotsnet.infer import Predictor

from .conftest import VIEWS

LIMIT_MB = 0.5
LIMIT = int(LIMIT_MB * 2**20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(exported: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "server.log"
    cmd = [
        sys.executable, "-m", "autotsnet.cli", "serve", str(exported), "--port", str(port),
        "--provider", "cpu", "--threads", "1", "--views", VIEWS, "--max-upload-mb", str(LIMIT_MB),
        "--batch-wait-ms", "3000", "--decode-workers", "2", "--log-level", "warning",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not ready after 180 s:\n{log.read_text()}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()


def _metrics(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics").text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = s.name + "".join(f"|{k}={v}" for k, v in sorted(s.labels.items()))
            out[key] = s.value
    return out


def _classify(base: str, data: bytes, **kwargs: Any) -> httpx.Response:
    files = {"file": ("clip.mp4", data, "video/mp4")}
    return httpx.post(f"{base}/v1/classify", files=files, timeout=120, **kwargs)


def test_health_ready_model_metrics(server: str, class_names: list[str]) -> None:
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server}/readyz").json()
    assert ready["status"] == "ready" and ready["providers"] == ["CPUExecutionProvider"]
    model = httpx.get(f"{server}/v1/model").json()
    assert model["class_names"] == class_names and model["views"] == VIEWS
    metrics = httpx.get(f"{server}/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert _metrics(server)["autotsnet_ready"] == 1.0


def test_classify_matches_the_predictor(server: str, exported: Path, videos: list[Path]) -> None:
    want = Predictor.from_export(exported, provider="cpu", views=VIEWS, threads=1).predict(
        videos[0]
    )
    data = videos[0].read_bytes()
    multipart = _classify(server, data)
    raw = httpx.post(
        f"{server}/v1/classify?topk=1",
        content=data,
        headers={"content-type": "video/mp4"},
        timeout=120,
    )
    assert multipart.status_code == raw.status_code == 200, multipart.text
    body = multipart.json()
    assert body["views"] == VIEWS and set(body["timing_ms"]) == {"decode", "model", "total"}
    assert [t["label"] for t in body["top"]] == [n for n, _ in want.top(5)]
    for t, (_, p) in zip(body["top"], want.top(5), strict=True):
        assert abs(t["probability"] - p) <= 1e-5
    assert len(raw.json()["top"]) == 1 and raw.json()["top"][0] == body["top"][0]


def _bad_cases(video: bytes) -> dict[str, tuple[dict[str, Any], int, str]]:
    mp = "multipart/form-data; boundary=XyZ"
    no_file = b'--XyZ\r\nContent-Disposition: form-data; name="other"\r\n\r\nhello\r\n--XyZ--\r\n'
    cut = b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nabc'
    text_part = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n"
    )

    def big() -> Iterator[bytes]:  # chunked: no Content-Length to refuse up front
        for _ in range(LIMIT // 65536 + 4):
            yield b"\0" * 65536

    return {
        "not a video": ({"files": {"file": ("a.mp4", os.urandom(4096), "video/mp4")}}, 422,
                        "undecodable_video"),
        "empty raw body": ({"content": b"", "headers": {"content-type": "video/mp4"}}, 400,
                           "empty_upload"),
        "empty file field": ({"files": {"file": ("a.mp4", b"", "video/mp4")}}, 400,
                             "empty_upload"),
        "truncated video": ({"files": {"file": ("a.mp4", video[: len(video) // 2], "video/mp4")}},
                            422, "undecodable_video"),
        "too large (Content-Length)": ({"content": b"\0" * (LIMIT + 1),
                                        "headers": {"content-type": "video/mp4"}}, 413,
                                       "too_large"),
        "too large (chunked)": ({"content": big(), "headers": {"content-type": "video/mp4"}},
                                413, "too_large"),
        "wrong content type": ({"content": video, "headers": {"content-type": "text/plain"}},
                               415, "unsupported_media_type"),
        "json content type": ({"json": {"video": "x"}}, 415, "unsupported_media_type"),
        "no content type": ({"content": video, "headers": {"content-type": ""}}, 415,
                            "unsupported_media_type"),
        "text part": ({"content": text_part, "headers": {"content-type": mp}}, 415,
                      "unsupported_media_type"),
        "no file field": ({"content": no_file, "headers": {"content-type": mp}}, 400,
                          "missing_file"),
        "truncated multipart": ({"content": cut, "headers": {"content-type": mp}}, 400,
                                "malformed_multipart"),
        "multipart without boundary": ({"content": b"x", "headers": {
            "content-type": "multipart/form-data"}}, 400, "malformed_multipart"),
    }  # fmt: skip


def test_bad_uploads_get_a_4xx_json_error(server: str, videos: list[Path]) -> None:
    video = videos[0].read_bytes()
    for case, (kwargs, status, code) in _bad_cases(video).items():
        r = httpx.post(f"{server}/v1/classify", timeout=60, **kwargs)
        assert r.status_code == status, (case, r.status_code, r.text)
        error = r.json()["error"]
        assert error["code"] == code and error["message"], case
    for topk in ("0", "abc"):
        r = _classify(server, video, params={"topk": topk})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_parameter"
    r = httpx.get(f"{server}/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    # The worker survived all of it.
    assert httpx.get(f"{server}/healthz").status_code == 200
    assert _classify(server, video).status_code == 200
    errors = _metrics(server)
    assert errors["autotsnet_errors_total|code=too_large"] == 2
    assert errors["autotsnet_errors_total|code=undecodable_video"] == 2


def test_client_disconnect_mid_upload(server: str, videos: list[Path]) -> None:
    port = int(server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(
            b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\n"
            b"Content-Length: 100000\r\n\r\n" + b"\0" * 1000
        )
    deadline = time.monotonic() + 30
    while _metrics(server).get("autotsnet_errors_total|code=client_disconnected", 0) < 1:
        assert time.monotonic() < deadline, "the server did not notice the disconnect"
        time.sleep(0.2)
    assert _classify(server, videos[0].read_bytes()).status_code == 200


def test_client_file_names_are_never_paths(server: str, videos: list[Path], tmp_path: Path) -> None:
    target = tmp_path / "owned.mp4"
    for name in (str(target), f"../../../../../..{target}", "..\\..\\owned.mp4"):
        files = {"file": (name, videos[0].read_bytes(), "video/mp4")}
        assert httpx.post(f"{server}/v1/classify", files=files, timeout=120).status_code == 200
    assert not target.exists() and not list(tmp_path.iterdir())


def test_concurrent_requests_share_model_runs(server: str, videos: list[Path]) -> None:
    before = _metrics(server)
    data = [v.read_bytes() for v in videos[:3]] * 2  # 6 requests
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda d: _classify(server, d), data))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    after = _metrics(server)
    runs = after["autotsnet_batch_requests_count"] - before["autotsnet_batch_requests_count"]
    merged = after["autotsnet_batch_requests_sum"] - before["autotsnet_batch_requests_sum"]
    rows = after["autotsnet_batch_rows_sum"] - before["autotsnet_batch_rows_sum"]
    assert merged == 6 and rows == 12  # 6 requests x 2 views, each counted once
    assert runs < 6, f"no micro-batching: {runs} runs for 6 concurrent requests"
    # Batched results equal the results of the same video sent alone.
    for r, d in zip(responses[:3], data[:3], strict=True):
        alone = _classify(server, d).json()["top"]
        got = r.json()["top"]
        assert [t["label"] for t in got] == [t["label"] for t in alone]
        assert np.allclose([t["probability"] for t in got], [t["probability"] for t in alone])
