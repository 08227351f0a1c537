"""Streaming, size-limited video uploads into server-chosen temporary files.

Two request forms are accepted by ``POST /v1/classify``:

* ``multipart/form-data`` with the video in a field named ``file`` (or ``video``);
* a raw body with ``Content-Type: video/*`` or ``application/octet-stream``.

The body is read chunk by chunk and counted: a ``Content-Length`` above the limit is refused
before anything is read, and a chunked body is cut off as soon as it passes the limit. The
bytes go to ``mkstemp(dir=<server upload dir>)``; the client's file name is never used as a
path (it is not even kept). Every failure is an :class:`UploadError` with an HTTP status and
a short machine-readable code.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from autotsnet.infer.errors import InferError

__all__ = ["FILE_FIELDS", "Upload", "UploadError", "receive_upload"]

FILE_FIELDS: tuple[str, ...] = ("file", "video")
_RAW_TYPES = ("application/octet-stream",)
_HINT = "send multipart/form-data with a 'file' field, or a raw body with Content-Type video/*"


class UploadError(InferError):
    """A rejected upload.

    Attributes:
        status: HTTP status code (4xx).
        code: Machine-readable error code.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Upload:
    """An accepted upload.

    Attributes:
        path: Server-chosen temporary file holding the bytes (delete it when done).
        size: Bytes received.
        content_type: The declared media type of the video.
    """

    path: Path
    size: int
    content_type: str


def _is_video_type(media: str) -> bool:
    return media.startswith("video/") or media in _RAW_TYPES


class _Sink:
    """Writes one part (or the whole raw body) to an open file, counting bytes."""

    def __init__(self, fd: int, limit: int) -> None:
        self.fd = fd
        self.limit = limit
        self.body = 0
        self.size = 0

    def count_body(self, n: int) -> None:
        self.body += n
        if self.body > self.limit:
            raise UploadError(413, "too_large", f"upload exceeds the limit of {self.limit} bytes")

    def write(self, data: bytes) -> None:
        self.size += len(data)
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]


class _Form:
    """Callbacks of python-multipart's streaming parser: keep only the file field."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self.active = False
        self.found = False
        self.media = ""
        self.ended = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._hfield,
            "on_header_value": self._hvalue,
            "on_header_end": self._hend,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_end": self._finish,
        }

    def _begin(self) -> None:
        self.headers = {}
        self.active = False

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _hvalue(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _hend(self) -> None:
        self.headers[self._field.strip().lower()] = self._value.strip()
        self._field, self._value = b"", b""

    def _headers_done(self) -> None:
        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("latin-1")
        if name not in FILE_FIELDS or self.found:
            return
        media = parse_options_header(self.headers.get(b"content-type", b""))[0].decode("latin-1")
        media = media.lower() or "application/octet-stream"
        if not _is_video_type(media):
            raise UploadError(415, "unsupported_media_type", f"field {name!r} is {media}; {_HINT}")
        self.active, self.found, self.media = True, True, media

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.active:
            self.sink.write(data[start:end])

    def _end(self) -> None:
        self.active = False

    def _finish(self) -> None:
        self.ended = True


async def receive_upload(request: Request, *, dest_dir: Path, max_bytes: int) -> Upload:
    """Read the request body into a new file under ``dest_dir``.

    Raises:
        UploadError: 400 (malformed, empty, no file field, disconnected), 413 (too large) or
            415 (wrong content type).
    """
    media_raw, params = parse_options_header(request.headers.get("content-type", ""))
    media = media_raw.decode("latin-1").lower()
    if not media:
        raise UploadError(415, "unsupported_media_type", f"no Content-Type; {_HINT}")
    multipart = media == "multipart/form-data"
    if not multipart and not _is_video_type(media):
        raise UploadError(415, "unsupported_media_type", f"Content-Type {media}; {_HINT}")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise UploadError(400, "bad_request", "Content-Length is not a number")
        if int(declared) > max_bytes:
            raise UploadError(413, "too_large", f"upload exceeds the limit of {max_bytes} bytes")
    boundary = params.get(b"boundary")
    if multipart and not boundary:
        raise UploadError(400, "malformed_multipart", "multipart body without a boundary")
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".bin", dir=dest_dir)
    path = Path(name)
    try:
        sink = _Sink(fd, max_bytes)
        form = _Form(sink) if multipart else None
        parser = MultipartParser(boundary, form.callbacks()) if form is not None else None  # type: ignore[arg-type]
        async for chunk in request.stream():
            if not chunk:
                continue
            sink.count_body(len(chunk))
            if parser is None:
                sink.write(chunk)
            else:
                parser.write(chunk)
        if form is not None:
            if parser is not None:
                parser.finalize()
            if not form.ended:
                raise UploadError(400, "malformed_multipart", "multipart body ends early")
            if not form.found:
                raise UploadError(400, "missing_file", f"no {' or '.join(FILE_FIELDS)} field")
        if sink.size == 0:
            raise UploadError(400, "empty_upload", "the uploaded video is empty")
        return Upload(path, sink.size, form.media if form is not None else media)
    except MultipartParseError as exc:
        path.unlink(missing_ok=True)
        raise UploadError(400, "malformed_multipart", f"malformed multipart body: {exc}") from None
    except ClientDisconnect:
        path.unlink(missing_ok=True)
        raise UploadError(400, "client_disconnected", "client disconnected mid-upload") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
