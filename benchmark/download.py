"""Resumable HTTP(S) downloads with retries, on the standard library's ``urllib``.

A download goes to ``<target>.part`` and is renamed to ``<target>`` only once complete. A
``.part`` file left by an interrupted run is resumed with a ``Range`` request; a server that
answers ``200`` instead of ``206`` (it ignores ranges) restarts the file from byte 0, and one
that answers ``416`` (range past the end) or a ``206`` for other bytes than asked (a broken
cache or proxy) also restarts it. Transient failures (connection
refused or reset, timeouts, a connection closed before the announced length, HTTP 5xx, 408,
429) are retried with exponential back-off; the count of failures resets whenever a try made
progress. Other HTTP errors (404 and the rest of 4xx) fail at once.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from robnas._version import __version__
from robnas.errors import DownloadError

if TYPE_CHECKING:
    import http.client

_log = logging.getLogger(__name__)

_CHUNK = 1 << 16
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})



class _Transient(Exception):
    """A failure worth another try."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try.

    Attributes:
        attempts: tries in a row without progress before giving up (at least 1).
        backoff: seconds before the first retry; doubles after each failure.
        max_backoff: cap on the wait between tries.
        timeout: socket timeout in seconds for connecting and for each read.
    """

    attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0
    timeout: float = 30.0

    def wait(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (1-based)."""
        return min(self.max_backoff, self.backoff * 2 ** (failures - 1))


def fetch(
    url: str,
    target: Path,
    *,
    retry: RetryPolicy | None = None,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``target`` (via ``target.part``), resuming and retrying.

    Args:
        url: an ``http://`` or ``https://`` address.
        target: the final path; its folder must exist.
        retry: the retry policy (default :class:`RetryPolicy`).
        progress: show a tqdm progress bar on stderr.

    Returns:
        ``target``.

    Raises:
        DownloadError: HTTP 4xx (at once), or the last failure after ``retry.attempts`` tries
            in a row without progress.
    """
    retry = retry or RetryPolicy()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError(f"cannot download {url}: only http:// and https:// URLs are supported")
    part = target.with_name(target.name + ".part")
    failures = 0
    while True:
        before = part.stat().st_size if part.exists() else 0
        try:
            _attempt(url, part, retry.timeout, progress)
        except _Transient as err:
            after = part.stat().st_size if part.exists() else 0
            failures = 1 if after > before else failures + 1
            if failures >= retry.attempts:
                raise DownloadError(
                    f"could not download {url} after {failures} tries: {err}"
                ) from None
            delay = retry.wait(failures)
            note = f"download of {url} failed ({err}); retrying in {delay:.1f} s"
            _log.info(note)
            if progress:  # interactive: say why the bar restarts; scripts see only the outcome
                from tqdm import tqdm

                tqdm.write(note, file=sys.stderr)
            time.sleep(delay)
            continue
        os.replace(part, target)
        return target


def _attempt(url: str, part: Path, timeout: float, progress: bool) -> None:
    """One request: append to (or restart) ``part`` until the body ends."""
    import http.client
    import urllib.error
    import urllib.request  # lazily: http.client and ssl cost ~30 ms to import

    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"robnas/{__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416:
            _log.info("server refused to resume %s at byte %d; starting over", url, offset)
            part.unlink(missing_ok=True)
            raise _Transient("HTTP 416 Range Not Satisfiable") from None
        if err.code in _RETRY_STATUS:
            raise _Transient(f"HTTP {err.code} {_phrase(err.code)}") from None
        raise DownloadError(f"cannot download {url}: HTTP {err.code} {_phrase(err.code)}") from None
    except urllib.error.URLError as err:
        raise _Transient(_reason(err.reason)) from None
    except (OSError, http.client.HTTPException) as err:
        raise _Transient(_reason(err)) from None
    with response:
        try:
            total, mode = _plan(response, offset, url)
        except _Transient:  # a 206 for other bytes than asked: its ranges cannot be trusted
            part.unlink(missing_ok=True)
            raise
        if mode == "wb" and offset:
            offset = 0
        _copy_body(response, part, mode, offset, total, progress, url)


def _plan(response: http.client.HTTPResponse, offset: int, url: str) -> tuple[int | None, str]:
    """Total size and file mode for a response to a request from ``offset``."""
    length = response.headers.get("Content-Length")
    if response.status == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if match is None or int(match.group(1)) != offset:
            raise _Transient(f"bad Content-Range {response.headers.get('Content-Range')!r}")
        total = None if match.group(3) == "*" else int(match.group(3))
        return total, "ab"
    if offset:
        _log.info("server ignored the range request for %s; starting over", url)
    return (int(length) if length and length.isdigit() else None), "wb"


def _copy_body(
    response: http.client.HTTPResponse,
    part: Path,
    mode: str,
    offset: int,
    total: int | None,
    progress: bool,
    url: str,
) -> None:
    """Stream the body to ``part``; a body that ends short of ``total`` is transient."""
    import http.client

    from tqdm import tqdm

    name = urlsplit(url).path.rsplit("/", 1)[-1] or url
    size = offset
    with open(part, mode) as out, tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
        desc=name, file=sys.stderr, disable=not progress, leave=False,
    ) as bar:
        while True:
            try:
                block = response.read(_CHUNK)
            except (OSError, http.client.HTTPException) as err:
                raise _Transient(_reason(err)) from None
            if not block:
                break
            out.write(block)  # a failing write (disk full) is not transient: it propagates
            size += len(block)
            bar.update(len(block))
    if total is not None and size < total:
        raise _Transient(f"connection closed after {size} of {total} bytes")
    if total is not None and size > total:
        part.unlink()
        raise _Transient(f"server sent {size} bytes, more than the {total} it announced")


def _reason(err: object) -> str:
    """A short text for a low-level failure."""
    if isinstance(err, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, ConnectionResetError):
        return "connection reset"
    text = str(err) or type(err).__name__
    return text


def _phrase(code: int) -> str:
    """The standard reason phrase of an HTTP status (not the server's own wording)."""
    from http import HTTPStatus

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "error"
