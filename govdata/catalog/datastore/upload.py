"""Receiving an upload over HTTP straight to a temporary file under ``upload_dir``.

The body is read as it arrives (``request.stream()``) and written to disk, never held in
memory; above ``upload_max_bytes`` the upload stops with 413 (a ``Content-Length`` that
already says so is refused before reading). Two shapes are accepted:

- ``multipart/form-data`` with the file in a part (the first part with a file name,
  usually field ``file``); a ``format`` field may name the format;
- the file as the raw body (``Content-Type: text/csv``, ``application/json``, … ;
  ``?filename=`` or ``Content-Disposition`` may give the name).

The name a client gives is kept as its base name only, without control characters
(``../../../../tmp/pwned.csv`` is ``pwned.csv``). Each process writes under its own
directory ``<upload_dir>/<pid>``; a process that died without cleaning up (``kill -9``)
leaves a directory that the next start removes (``sweep_orphans``): uploads may hold
personal data (``govdata.platform.uploaddir``). A full disk is a 507, not a 500.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from govdata.platform.errors import (
    DomainError,
    InsufficientStorage,
    PayloadTooLarge,
    RuleViolation,
)
from govdata.platform.uploaddir import process_dir

MULTIPART_OVERHEAD = 64 << 10  # headers and boundaries around the file part
MAX_FILENAME = 255
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass
class Upload:
    path: Path
    size: int
    filename: str | None = None
    content_type: str | None = None
    format: str | None = None
    fields: dict[str, str] | None = None  # the other (short) multipart fields

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def safe_filename(name: str | None) -> str | None:
    """The base name of a client's file name, without control characters; ``None`` if
    nothing is left (``..``, blanks)."""
    if not name:
        return None
    base = re.split(r"[/\\]", UNPRINTABLE.sub("", name))[-1].strip()
    if base in ("", ".", ".."):
        return None
    return base[-MAX_FILENAME:]


def _disk_full() -> InsufficientStorage:
    return InsufficientStorage("上传存储空间已满, 请稍后再试或联系管理员 "
                               "(no space left for uploads)", code="upload_storage_full")


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"上传文件超过 {limit} 字节的上限 (upload larger than {limit} bytes)",
                           code="upload_too_large")


class _Multipart:
    """Callbacks for python-multipart: the file part goes to ``sink``, small text fields
    are kept (``format``)."""

    def __init__(self, sink: IO[bytes], limit: int) -> None:
        self.sink, self.limit = sink, limit
        self.size = 0
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.content_type: str | None = None
        self.found = False
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._target: str | None = None  # "file", a field name, or None (skip)
        self._value = bytearray()

    def on_part_begin(self) -> None:
        self._headers, self._target, self._value = {}, None, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"filename" not in options:
            self._target = options.get(b"name", b"").decode("utf-8", "replace")
        elif not self.found:  # the first file part is the upload; others are skipped
            self.found = True
            self._target = "file"
            self.filename = safe_filename(options[b"filename"].decode("utf-8", "replace"))
            self.content_type = self._headers.get(b"content-type", b"").decode() or None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._target == "file":
            self.size += end - start
            if self.size > self.limit:
                raise _too_large(self.limit)
            self.sink.write(data[start:end])
        elif self._target is not None and len(self._value) < 1024:
            self._value += data[start:end]

    def on_part_end(self) -> None:
        if self._target not in (None, "file"):
            self.fields[self._target] = self._value.decode("utf-8", "replace").strip()

    def callbacks(self) -> dict:
        return {name: getattr(self, name) for name in (
            "on_part_begin", "on_header_field", "on_header_value", "on_header_end",
            "on_headers_finished", "on_part_data", "on_part_end")}


async def receive(request: Request, *, upload_dir: str, max_bytes: int) -> Upload:
    """Write the request's file to a temporary file; the caller ``discard()``s it."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD:
        raise _too_large(max_bytes)
    try:
        descriptor, name = tempfile.mkstemp(prefix="upload-", dir=process_dir(upload_dir))
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise _disk_full() from None
        raise
    path = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as sink:
            media, options = parse_options_header(request.headers.get("content-type", ""))
            if media == b"multipart/form-data":
                upload = await _multipart(request, sink, options, max_bytes, path)
            else:
                upload = await _raw(request, sink, media, max_bytes, path)
        return upload
    except OSError as exc:
        path.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise _disk_full() from None
        raise
    except BaseException:
        path.unlink(missing_ok=True)
        raise


async def _multipart(request: Request, sink: IO[bytes], options: dict, limit: int,
                     path: Path) -> Upload:
    boundary = options.get(b"boundary")
    if not boundary:
        raise RuleViolation("multipart 请求缺少 boundary (missing boundary)",
                            code="upload_malformed")
    handler = _Multipart(sink, limit)
    parser = MultipartParser(boundary, handler.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except DomainError:
        raise
    except MultipartParseError as exc:
        raise RuleViolation(f"multipart 请求格式错误 (malformed multipart): {exc}",
                            code="upload_malformed") from None
    if not handler.found:
        raise RuleViolation("请求中没有文件: 用字段 file 上传 (no file part named 'file')",
                            code="upload_missing")
    return Upload(path, handler.size, handler.filename, handler.content_type,
                  handler.fields.get("format") or None, handler.fields)


async def _raw(request: Request, sink: IO[bytes], media: bytes, limit: int,
               path: Path) -> Upload:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        sink.write(chunk)
    if size == 0:
        raise RuleViolation("请求体为空: 请上传文件 (empty body)", code="upload_missing")
    filename = request.query_params.get("filename")
    if not filename:
        _, disposition = parse_options_header(request.headers.get("content-disposition", ""))
        raw_name = disposition.get(b"filename")
        filename = raw_name.decode("utf-8", "replace") if raw_name else None
    return Upload(path, size, safe_filename(filename), media.decode() or None)
