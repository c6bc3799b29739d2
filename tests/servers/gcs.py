"""gcp-storage-emulator as a separate process on 127.0.0.1, plus what GCS tests need around it.

- ``gcs_emulator()`` runs ``python -m gcp_storage_emulator start --in-memory`` on a free port.
- ``write_service_account_key()`` writes a service-account key file made here (a fresh RSA key,
  never a real account): V4 signing needs one, and the emulator verifies no signatures.
- ``RecordingSession`` is a ``requests.Session`` that records every request the driver sends
  (method, path, query, JSON body) before sending it on.  The emulator ignores preconditions,
  ``maxResults``/``pageToken`` and ``generation``, so for those the tests check the *request*.
- ``PaginatingSession`` additionally makes the emulator's list answers behave like GCS's:
  it honours ``maxResults`` (items and prefixes together), ``startOffset`` and ``pageToken``,
  answering ``nextPageToken``.  It is a stand-in for the real service's paging, used to run the
  listing tests through the driver's token path; the tests that use it say so.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.servers.process import free_port, running


@dataclass(frozen=True)
class GCSEmulator:
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def dsn(self, **params: str) -> str:
        query = urlencode({"endpoint": self.endpoint, "retries": "3", "retry_base": "0.05", **params})
        return f"gcs://?{query}"


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def gcs_emulator(work_dir: Path) -> Iterator[GCSEmulator]:
    """Run the emulator on a free loopback port until the with-block ends."""
    port = free_port()
    server = GCSEmulator("127.0.0.1", port)
    argv = [
        sys.executable,
        "-m",
        "gcp_storage_emulator",
        "start",
        "--host",
        server.host,
        "--port",
        str(port),
        "--in-memory",
    ]
    log = work_dir / "emulator.log"
    with running(argv, port=port, name="gcp-storage-emulator", log=log, ready=lambda: _answers(server.endpoint)):
        yield server


@pytest.fixture(scope="session", name="gcs")
def gcs_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GCSEmulator]:
    """The emulator for a test module (import this fixture into the module that uses it)."""
    with gcs_emulator(tmp_path_factory.mktemp("gcs")) as server:
        yield server


@pytest.fixture(scope="session", name="gcs_key")
def gcs_key_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A service-account key file made for the tests (signs presigned URLs)."""
    path = tmp_path_factory.mktemp("gcs-key") / "service-account.json"
    write_service_account_key(path)
    return path


def write_service_account_key(path: Path, *, project: str = "trove-test") -> str:
    """Write a service-account key file with a freshly generated RSA key; return the PEM (the
    secret the tests look for in reprs and messages)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": project,
                "private_key_id": "0123456789abcdef",
                "private_key": pem,
                "client_email": f"trove-signer@{project}.iam.gserviceaccount.com",
                "client_id": "100000000000000000000",
                # Never contacted: requests to an http:// endpoint are anonymous.
                "token_uri": "http://127.0.0.1:9/token",
            }
        )
    )
    path.chmod(0o600)
    return pem


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any = field(default=None, compare=False)
    headers: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def object_path(self) -> str:
        return unquote(self.path)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class RecordingSession(requests.Session):
    """Records each request, then sends it unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.recorded: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        method_text = method.decode() if isinstance(method, bytes) else method
        url_text = url.decode() if isinstance(url, bytes) else url
        parts = urlsplit(url_text)
        query = parse_qs(parts.query)
        for name, value in (kwargs.get("params") or {}).items():
            query.setdefault(name, []).append(str(value))
        body = kwargs.get("json")
        data = kwargs.get("data")
        if body is None and isinstance(data, (bytes, str)) and data[:1] in (b"{", "{"):
            with contextlib.suppress(ValueError):
                body = json.loads(data)
        headers = {str(k): str(v) for k, v in (kwargs.get("headers") or {}).items()}
        with self._lock:
            self.recorded.append(RecordedRequest(method_text.upper(), parts.path, query, body, headers))
        return super().request(method_text, url_text, *args, **kwargs)

    def matching(self, method: str, path_fragment: str = "") -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.recorded if r.method == method and path_fragment in r.object_path]

    def clear(self) -> None:
        with self._lock:
            self.recorded.clear()


class PaginatingSession(RecordingSession):
    """Pages the emulator's one-shot list answers as GCS does (see the module docstring).

    A page token here is the base64 of the last name the page covered; GCS's are opaque too.
    """

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().request(method, url, *args, **kwargs)
        url_text = url.decode() if isinstance(url, bytes) else url
        path = urlsplit(url_text).path
        if str(method).upper() != "GET" or not path.endswith("/o") or response.status_code != 200:
            return response
        query = self.recorded[-1].query
        answer = response.json()
        paged = _page(answer, query)
        response._content = json.dumps(paged).encode("utf-8")
        return response


def _page(answer: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
    def first(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    entries: list[tuple[str, dict[str, Any] | None]] = [(item["name"], item) for item in answer.get("items") or []]
    entries += [(prefix, None) for prefix in answer.get("prefixes") or []]
    entries.sort(key=lambda e: e[0].encode("utf-8"))
    start = first("startOffset")
    token = first("pageToken")
    after = base64.urlsafe_b64decode(token.encode()).decode("utf-8") if token else None
    if start is not None:
        # A prefix is kept if any name under it can be >= startOffset (GCS filters objects first).
        entries = [e for e in entries if e[0] >= start or (e[1] is None and start.startswith(e[0]))]
    if after is not None:
        entries = [e for e in entries if e[0] > after]
    limit = min(int(first("maxResults") or 1000), 1000)
    page, rest = entries[:limit], entries[limit:]
    paged: dict[str, Any] = {
        "kind": "storage#objects",
        "items": [item for _, item in page if item is not None],
        "prefixes": [name for name, item in page if item is None],
    }
    if rest:
        paged["nextPageToken"] = base64.urlsafe_b64encode(page[-1][0].encode("utf-8")).decode("ascii")
    return paged
