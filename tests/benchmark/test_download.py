"""``robnas.benchmark.download.fetch`` against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from robnas.benchmark.download import DownloadError, RetryPolicy, fetch
from tests.benchmark.release_server import Faults, ReleaseServer

FAST = RetryPolicy(attempts=4, backoff=0.01, timeout=5)
BODY = bytes(range(256)) * 4000  # 1,024,000 bytes, every offset distinguishable


def test_clean_download(tmp_path: Path) -> None:
    with ReleaseServer({"a.zip": BODY}) as server:
        path = fetch(server.url + "a.zip", tmp_path / "a.zip", retry=FAST, progress=False)
        assert server.requests_for("a.zip") == [None]
    assert path.read_bytes() == BODY
    assert not (tmp_path / "a.zip.part").exists()


def test_dropped_connection_resumes_with_range(tmp_path: Path) -> None:
    with ReleaseServer({"a.zip": BODY}, Faults(drop_once={"a.zip"})) as server:
        fetch(server.url + "a.zip", tmp_path / "a.zip", retry=FAST, progress=False)
        ranges = server.requests_for("a.zip")
    assert ranges == [None, f"bytes={len(BODY) // 2}-"]
    assert (tmp_path / "a.zip").read_bytes() == BODY


def test_partial_file_from_an_earlier_run_is_resumed(tmp_path: Path) -> None:
    (tmp_path / "a.zip.part").write_bytes(BODY[:1000])
    with ReleaseServer({"a.zip": BODY}) as server:
        fetch(server.url + "a.zip", tmp_path / "a.zip", retry=FAST, progress=False)
        assert server.requests_for("a.zip") == ["bytes=1000-"]
    assert (tmp_path / "a.zip").read_bytes() == BODY


def test_server_ignoring_range_restarts_cleanly(tmp_path: Path) -> None:
    (tmp_path / "a.zip.part").write_bytes(b"stale bytes that must not survive")
    faults = Faults(drop_once={"a.zip"}, ignore_range=True)
    with ReleaseServer({"a.zip": BODY}, faults) as server:
        fetch(server.url + "a.zip", tmp_path / "a.zip", retry=FAST, progress=False)
        ranges = server.requests_for("a.zip")
    assert ranges[0] is not None and ranges[0].startswith("bytes=")  # it asked to resume...
    assert len(ranges) == 2  # ...got half of a 200 (dropped), asked again, got the whole file
    assert (tmp_path / "a.zip").read_bytes() == BODY


def test_a_206_for_the_wrong_range_starts_over(tmp_path: Path) -> None:
    # the part could never be resumed (every try refused the Content-Range and kept it), so
    # every later run failed the same way until the user found and deleted the .part file
    (tmp_path / "a.zip.part").write_bytes(BODY[:1000])
    with ReleaseServer({"a.zip": BODY}, Faults(whole_file_as_206=True)) as server:
        fetch(server.url + "a.zip", tmp_path / "a.zip", retry=FAST, progress=False)
        assert server.requests_for("a.zip") == ["bytes=1000-", None]
    assert (tmp_path / "a.zip").read_bytes() == BODY


def test_server_errors_are_retried(tmp_path: Path) -> None:
    with ReleaseServer({"a.zip": BODY}, Faults(statuses={"a.zip": [503, 500]})) as server:
        fetch(server.url + "a.zip", tmp_path / "a.zip", retry=FAST, progress=False)
        assert len(server.requests_for("a.zip")) == 3
    assert (tmp_path / "a.zip").read_bytes() == BODY


def test_404_fails_at_once(tmp_path: Path) -> None:
    with ReleaseServer({}) as server:
        with pytest.raises(DownloadError) as caught:
            fetch(server.url + "missing.zip", tmp_path / "m.zip", retry=FAST, progress=False)
        assert len(server.requests_for("missing.zip")) == 1
    assert str(caught.value) == f"cannot download {server.url}missing.zip: HTTP 404 Not Found"
    assert list(tmp_path.iterdir()) == []


def test_persistent_server_error_gives_up(tmp_path: Path) -> None:
    with ReleaseServer({"a.zip": BODY}, Faults(statuses={"a.zip": [502] * 10})) as server:
        with pytest.raises(DownloadError, match=r"after 4 tries: HTTP 502 Bad Gateway"):
            fetch(server.url + "a.zip", tmp_path / "a.zip", retry=FAST, progress=False)
        assert len(server.requests_for("a.zip")) == 4


def test_server_down_gives_up_after_retries(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/meta.zip"
    with pytest.raises(DownloadError) as caught:
        fetch(url, tmp_path / "meta.zip", retry=FAST, progress=False)
    assert str(caught.value) == f"could not download {url} after 4 tries: connection refused"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://", "127.0.0.1:8000/meta.zip"])
def test_only_http_urls(tmp_path: Path, url: str) -> None:
    with pytest.raises(DownloadError, match="only http:// and https://"):
        fetch(url, tmp_path / "x", retry=FAST, progress=False)


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=5.0)
    assert [policy.wait(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
