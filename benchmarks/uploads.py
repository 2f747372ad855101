"""Benchmark: tus uploads into the festival service against a plain streamed POST-to-disk
route, measured in the same run.

Run ``python benchmarks/uploads.py [--size-mb 256] [--big-gb 2] [--rounds 3]``. Everything
runs on 127.0.0.1. Each server is a subprocess served by uvicorn with the settings that
``festival serve`` uses (one worker, uvicorn's default loop and HTTP parser, which are
uvloop and httptools when installed, proxy headers on, access log at info level, here
into a log file):

* **tus**: the festival service itself, ``python -m festival serve``, over a temporary
  data directory prepared with ``festival demo`` and ``festival invite-volunteer`` (the
  link it prints ends in the volunteer's bearer token). Media jobs are off
  (``FESTIVAL_RUN_JOBS=false``): the uploads are random bytes, not video, and the jobs
  would only compete for the CPU.
* **baseline**: the plain streamed POST-to-disk route. The service has no such route, so
  this script defines a minimal Litestar app (``--serve baseline``, run as its own
  subprocess) with one POST route that streams ``request.stream()`` into a file with
  ``f.write`` and calls ``os.fsync`` at the end.
* **tuspyserver** (PyPI, a FastAPI router), if it can be imported: ``--serve
  tuspyserver`` mounts ``create_tus_router`` over a temporary folder. It is not a
  project dependency; the script says how to install it and skips its lines otherwise.

The client is httpx in this process, streaming a file of random bytes written once to
the temporary folder (never held in memory). In the same run it measures:

1. ingest: the file uploaded whole, in one request (a POST to the baseline; for tus the
   creation POST and one PATCH), and for tus also as 8 MB PATCHes; the median of
   ``--rounds`` rounds, the servers taking turns. Goal: tus at least 0.8x the baseline
   either way, and at least 1x tuspyserver with the same client code. For information
   it also times the baseline without its ``fsync``, which is what tuspyserver's
   default storage does (it never syncs).
2. 20 concurrent uploads of 16 MB (httpx.AsyncClient), aggregate MB/s, tus against the
   baseline doing the same 20 POSTs. Goal: at least 0.8x.
3. the tus server's resident memory (VmRSS from /proc, sampled every 100 ms) during one
   ``--big-gb`` GB PATCH, as the peak up to a quarter, half and all of it (the last
   includes the SHA-256 of the whole file that the server computes when the last byte
   lands). Goal: 150 MB or less, and flat.

For tus the times include everything a client waits for: creating the upload, a sync to
disk at the end of every PATCH, the upload's state written to SQLite, and the SHA-256
pass over the finished file. The baseline does one sync and nothing else.

Claim (issue 4): tus ingest >= 0.8x the baseline, >= 1x tuspyserver; peak RSS <= 150 MB
during a 2 GB upload, flat as the size grows. The exit status is 0 when every goal
measured is met.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import anyio
import httpx
from litestar import Litestar, Request, post

MB = 1024 * 1024
GB = 1024 * MB
BLOCK = MB  # the client's read size
PATCH_CHUNK = 8 * MB
CONCURRENT = 20
CONCURRENT_MB = 16
RSS_INTERVAL = 0.1
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"
FESTIVAL_SLUG = "coproduction-week-2019"
INGEST_GOAL = 0.8
TUSPYSERVER_GOAL = 1.0
RSS_GOAL_MB = 150.0
FLAT_MB = 10.0  # growth from the first to the last RSS milestone still called flat
TIMEOUT = httpx.Timeout(600.0, connect=10.0)
REPO = Path(__file__).resolve().parent.parent
INSTALL_TUSPYSERVER = (
    ".venv/bin/pip install tuspyserver uvicorn fastapi  (or, to keep it out of the venv: "
    "pip install --target DIR tuspyserver, then --tuspyserver-site DIR)"
)


def _metadata(filename: str) -> str:
    pairs = {"filename": filename, "filetype": "application/octet-stream"}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


# --- the servers this script defines (each runs in its own process) --------------------


def baseline_app(folder: Path) -> Litestar:
    """BASELINE, not the product: the plain streamed POST-to-disk route at ``/upload``.
    ``/upload-unsynced`` is the same without the ``fsync``, for information only."""

    async def receive(request: Request[Any, Any, Any], name: str, sync: bool) -> dict[str, int]:
        if not re.fullmatch(r"[a-z0-9-]{1,64}", name):
            raise ValueError("bad name")
        size = 0
        # Blocking writes on the event loop, as the plainest handler does them.
        with open(folder / name, "wb") as file:  # noqa: ASYNC230
            async for chunk in request.stream():
                file.write(chunk)
                size += len(chunk)
            file.flush()
            if sync:
                os.fsync(file.fileno())
        return {"size": size}

    @post("/upload/{name:str}", request_max_body_size=None, status_code=201)
    async def upload(request: Request[Any, Any, Any], name: str) -> dict[str, int]:
        return await receive(request, name, sync=True)

    @post("/upload-unsynced/{name:str}", request_max_body_size=None, status_code=201)
    async def upload_unsynced(request: Request[Any, Any, Any], name: str) -> dict[str, int]:
        return await receive(request, name, sync=False)

    return Litestar(route_handlers=[upload, upload_unsynced])


def tuspyserver_app(folder: Path) -> Any:
    """tuspyserver's router with its defaults (files written straight to ``folder``)."""
    from fastapi import FastAPI
    from tuspyserver import create_tus_router

    app = FastAPI()
    app.include_router(create_tus_router(prefix="files", files_dir=str(folder), max_size=GB**2))
    return app


def serve(kind: str, port: int, folder: Path) -> int:
    import uvicorn

    folder.mkdir(parents=True, exist_ok=True)
    app = baseline_app(folder) if kind == "baseline" else tuspyserver_app(folder)
    # The settings of `festival serve` (festival/cli.py), with the app given directly.
    uvicorn.run(app, host="127.0.0.1", port=port, proxy_headers=True, log_level="info")
    return 0


# --- running servers as subprocesses ----------------------------------------------------


def _die_with_parent() -> None:
    """In the child: get SIGTERM if this script dies without cleaning up (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/") -> Server:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.argv, "--port", str(self.port)],
                env=self.env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches this script, which stops them
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
            try:
                httpx.get(self.url + ready_path, timeout=2)
                return self
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start:\n{self.log_tail()}") from None
                time.sleep(0.1)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def rss(self) -> int | None:
        """Resident memory in bytes, from /proc (None once the process is gone)."""
        assert self.process is not None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        return int(found.group(1)) * 1024 if found else None


def _run(argv: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        list(argv), env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def festival_server(work: Path, max_size: int) -> tuple[Server, dict[str, str], Path]:
    """The service over a fresh data directory, and a volunteer's bearer header."""
    data = work / "festival"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FESTIVAL_")}
    env.update(
        FESTIVAL_DATA_DIR=str(data),
        FESTIVAL_BASE_URL=f"http://127.0.0.1:{port}",
        FESTIVAL_TUS_MAX_SIZE=str(max_size),
        FESTIVAL_RUN_JOBS="false",
    )
    python = [sys.executable, "-m", "festival"]
    _run([*python, "demo"], env)
    link = _run(
        [*python, "invite-volunteer", "bench@festival.test", "--festival", FESTIVAL_SLUG], env
    )
    token = link.strip().splitlines()[-1].rstrip("/").rsplit("/", 1)[1]
    server = Server("festival", [*python, "serve"], env, work / "festival.log", port=port)
    media = data / "media" / "originals"
    return server.start("/health"), {"Authorization": f"Bearer {token}"}, media


def script_server(kind: str, work: Path, site: Path | None) -> tuple[Server, Path]:
    folder = work / kind
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve", kind, "--folder", str(folder)]
    return Server(kind, argv, env, work / f"{kind}.log").start(), folder


def tuspyserver_importable(site: Path | None) -> bool:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    check = [sys.executable, "-c", "import fastapi, tuspyserver, uvicorn"]
    return subprocess.run(check, env=env, capture_output=True, timeout=60).returncode == 0


# --- the client -------------------------------------------------------------------------


def file_blocks(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as file:
        file.seek(start)
        left = length
        while left:
            block = file.read(min(BLOCK, left))
            if not block:
                raise RuntimeError(f"{path} is shorter than expected")
            left -= len(block)
            yield block


async def afile_blocks(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as file:
        await file.seek(start)
        left = length
        while left:
            block = await file.read(min(BLOCK, left))
            if not block:
                raise RuntimeError(f"{path} is shorter than expected")
            left -= len(block)
            yield block


def _expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: {response.status_code} "
            f"(wanted {status}) {response.text[:300]}"
        )
    return response


@dataclass
class Target:
    """Where and how to upload: a plain POST, or tus (creation, then PATCH requests)."""

    name: str
    url: str  # the POST route, or the tus creation URL
    tus: bool
    headers: dict[str, str] = field(default_factory=dict)
    count: int = 0

    def _name(self) -> str:
        self.count += 1
        return f"upload-{self.count}"

    def _creation(self, length: int) -> dict[str, str]:
        return {
            **self.headers,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": _metadata(self._name() + ".bin"),
        }

    def _patch_headers(self, offset: int, size: int) -> dict[str, str]:
        return {
            **self.headers,
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": OCTETS,
            "Content-Length": str(size),
        }

    def upload(
        self,
        client: httpx.Client,
        length: int,
        body: Callable[[int, int], Iterator[bytes]],
        chunk: int | None = None,
    ) -> None:
        """Send ``length`` bytes, ``body(start, size)`` giving the bytes of each request."""
        if not self.tus:
            headers = {**self.headers, "Content-Length": str(length)}
            url = f"{self.url}/{self._name()}"
            _expect(client.post(url, content=body(0, length), headers=headers), 201)
            return
        created = _expect(client.post(self.url, headers=self._creation(length)), 201)
        location = urljoin(self.url, created.headers["location"])
        offset = 0
        while offset < length:
            size = min(chunk or length, length - offset)
            response = client.patch(
                location, content=body(offset, size), headers=self._patch_headers(offset, size)
            )
            offset = _check_offset(_expect(response, 204), offset + size)

    async def upload_async(self, client: httpx.AsyncClient, path: Path, length: int) -> None:
        if not self.tus:
            headers = {**self.headers, "Content-Length": str(length)}
            url = f"{self.url}/{self._name()}"
            response = await client.post(
                url, content=afile_blocks(path, 0, length), headers=headers
            )
            _expect(response, 201)
            return
        created = _expect(await client.post(self.url, headers=self._creation(length)), 201)
        location = urljoin(self.url, created.headers["location"])
        response = await client.patch(
            location, content=afile_blocks(path, 0, length), headers=self._patch_headers(0, length)
        )
        _check_offset(_expect(response, 204), length)


def _check_offset(response: httpx.Response, wanted: int) -> int:
    offset = int(response.headers["upload-offset"])
    if offset != wanted:
        raise RuntimeError(f"the server is at offset {offset}, expected {wanted}")
    return offset


def empty(folder: Path) -> None:
    """Remove the uploaded files (the servers keep no other state in these folders that a
    later upload needs), so a long run does not fill the disk."""
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.is_file():
                entry.unlink()


# --- the measurements -------------------------------------------------------------------


def make_source(path: Path, size: int) -> None:
    with path.open("wb") as file:
        left = size
        while left:
            block = os.urandom(min(BLOCK, left))
            file.write(block)
            left -= len(block)


def timed_upload(
    target: Target, source: Path, length: int, chunk: int | None, folder: Path
) -> float:
    with httpx.Client(timeout=TIMEOUT) as client:
        started = time.perf_counter()
        target.upload(client, length, lambda start, size: file_blocks(source, start, size), chunk)
        elapsed = time.perf_counter() - started
    empty(folder)
    return length / MB / elapsed


async def _concurrent(target: Target, source: Path, length: int, count: int) -> float:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(target.upload_async(client, source, length) for _ in range(count)))
        elapsed = time.perf_counter() - started
    return count * length / MB / elapsed


def concurrent_upload(target: Target, source: Path, length: int, count: int, folder: Path) -> float:
    rate = asyncio.run(_concurrent(target, source, length, count))
    empty(folder)
    return rate


class RssSampler(threading.Thread):
    """Samples a server's VmRSS every 100 ms, with the bytes sent so far."""

    def __init__(self, server: Server, progress: Callable[[], int]) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.progress = progress
        self.samples: list[tuple[int, int]] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            rss = self.server.rss()
            if rss is not None:
                self.samples.append((self.progress(), rss))
            self._done.wait(RSS_INTERVAL)

    def finish(self) -> None:
        self._done.set()
        self.join(timeout=5)


def rss_during_big_upload(
    server: Server, target: Target, total: int, folder: Path
) -> tuple[int, list[tuple[int, int]], float]:
    """One PATCH of ``total`` bytes (a random megabyte over and over, so the client
    holds nothing); returns RSS before, the samples, and MB/s."""
    sent = 0
    block = os.urandom(BLOCK)

    def body(start: int, size: int) -> Iterator[bytes]:
        nonlocal sent
        left = size
        while left:
            piece = block if left >= BLOCK else block[:left]
            sent += len(piece)
            left -= len(piece)
            yield piece

    before = server.rss() or 0
    sampler = RssSampler(server, lambda: sent)
    sampler.start()
    try:
        with httpx.Client(timeout=TIMEOUT) as client:
            started = time.perf_counter()
            target.upload(client, total, body)
            elapsed = time.perf_counter() - started
    finally:
        sampler.finish()
        empty(folder)
    return before, sampler.samples, total / MB / elapsed


# --- the report -------------------------------------------------------------------------


def _goal(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _line(label: str, rate: float, extra: str = "") -> None:
    print(f"  {label:<34} {rate:8.1f} MB/s{extra}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256, help="ingest file size (MB)")
    parser.add_argument("--big-gb", type=float, default=2.0, help="memory test size (GB)")
    parser.add_argument("--rounds", type=int, default=3, help="ingest rounds (median)")
    parser.add_argument("--concurrent", type=int, default=CONCURRENT)
    parser.add_argument("--concurrent-mb", type=int, default=CONCURRENT_MB)
    parser.add_argument(
        "--tuspyserver-site", type=Path, default=None, help="extra import path for tuspyserver"
    )
    parser.add_argument("--serve", choices=["baseline", "tuspyserver"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve, args.port, args.folder)
    if not (1 <= args.size_mb <= 64 * 1024 and 0 < args.big_gb <= 64 and 1 <= args.rounds <= 20):
        parser.error("--size-mb 1..65536, --big-gb up to 64, --rounds 1..20")

    signal.signal(signal.SIGTERM, _interrupt)  # clean up as after Ctrl-C
    work = Path(tempfile.mkdtemp(prefix="festival-uploads-bench-"))
    servers: list[Server] = []
    try:
        return run(args, work, servers)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path, servers: list[Server]) -> int:
    size = args.size_mb * MB
    concurrent_size = args.concurrent_mb * MB
    big = int(args.big_gb * GB)
    source = work / "source.bin"
    make_source(source, max(size, concurrent_size))

    festival, auth, festival_files = festival_server(work, max(4 * GB, big + GB))
    servers.append(festival)
    baseline_server, baseline_files = script_server("baseline", work, None)
    servers.append(baseline_server)
    tus = Target("tus", f"{festival.url}/api/v1/uploads", tus=True, headers=auth)
    baseline = Target("baseline", f"{baseline_server.url}/upload", tus=False)
    unsynced = Target("baseline", f"{baseline_server.url}/upload-unsynced", tus=False)
    theirs: Target | None = None
    theirs_files = work / "tuspyserver"
    if tuspyserver_importable(args.tuspyserver_site):
        theirs_server, theirs_files = script_server("tuspyserver", work, args.tuspyserver_site)
        servers.append(theirs_server)
        theirs = Target("tuspyserver", f"{theirs_server.url}/files/", tus=True)

    import uvicorn

    cpus = len(os.sched_getaffinity(0))
    print(
        f"uploads benchmark: {args.size_mb} MB file, median of {args.rounds} rounds; "
        f"{args.concurrent} x {args.concurrent_mb} MB concurrent; {args.big_gb:g} GB for memory; "
        f"loopback, {cpus} CPUs, client and servers on the same machine"
    )
    print(
        f"servers: uvicorn {uvicorn.__version__}, one worker each, the settings of "
        "`festival serve`; client: httpx, streaming from a file on disk"
    )
    print(
        "baseline: a plain streamed POST-to-disk route (a minimal Litestar app in this "
        "script: request.stream() -> f.write, os.fsync at the end), its own process"
    )
    print(
        "tus: the festival service (`python -m festival serve`), /api/v1/uploads; media "
        "jobs off; times include creation, fsync per PATCH, state in SQLite, SHA-256 at the end"
    )

    # Warm up every server (imports, first connections, the SQLite pages).
    warm = [(baseline, baseline_files), (tus, festival_files)]
    if theirs is not None:
        warm.append((theirs, theirs_files))
    for target, folder in warm:
        timed_upload(target, source, MB, None, folder)
    started_rss = festival.rss() or 0

    modes: list[tuple[str, Target, Path, int | None]] = [
        ("baseline, one POST", baseline, baseline_files, None),
        ("baseline without fsync (info)", unsynced, baseline_files, None),
        ("tus, one PATCH", tus, festival_files, None),
        ("tus, 8 MB PATCHes", tus, festival_files, PATCH_CHUNK),
    ]
    if theirs is not None:
        modes += [
            ("tuspyserver, one PATCH", theirs, theirs_files, None),
            ("tuspyserver, 8 MB PATCHes", theirs, theirs_files, PATCH_CHUNK),
        ]
    rates: dict[str, list[float]] = {label: [] for label, *_ in modes}
    for _ in range(args.rounds):
        for label, target, folder, chunk in modes:
            rates[label].append(timed_upload(target, source, size, chunk, folder))
    median = {label: statistics.median(values) for label, values in rates.items()}

    goals: list[bool] = []
    base = median["baseline, one POST"]
    print(f"ingest of {args.size_mb} MB, one upload at a time (median; min-max):")

    def spread(label: str) -> str:
        return f" ({min(rates[label]):.0f}-{max(rates[label]):.0f})"

    _line("baseline, one POST", base, spread("baseline, one POST"))
    label = "baseline without fsync (info)"
    _line(label, median[label], f"{spread(label)}  {median[label] / base:.2f}x baseline")
    for label in ("tus, one PATCH", "tus, 8 MB PATCHes"):
        ratio = median[label] / base
        goals.append(ratio >= INGEST_GOAL)
        _line(
            label,
            median[label],
            f"{spread(label)}  {ratio:.2f}x baseline  "
            f"goal >= {INGEST_GOAL}x: {_goal(ratio >= INGEST_GOAL)}",
        )
    if theirs is None:
        print(f"  tuspyserver: not installed, skipped. Install: {INSTALL_TUSPYSERVER}")
    else:
        for mode in ("one PATCH", "8 MB PATCHes"):
            label = f"tuspyserver, {mode}"
            ours = median[f"tus, {mode}"] / median[label]
            goals.append(ours >= TUSPYSERVER_GOAL)
            _line(
                label,
                median[label],
                f"{spread(label)}  ours/theirs {ours:.2f}x  "
                f"goal >= {TUSPYSERVER_GOAL}x: {_goal(ours >= TUSPYSERVER_GOAL)}",
            )
        print("  (tuspyserver's default file storage writes without fsync; ours syncs each PATCH)")

    count = args.concurrent
    base_c = concurrent_upload(baseline, source, concurrent_size, count, baseline_files)
    tus_c = concurrent_upload(tus, source, concurrent_size, count, festival_files)
    ratio_c = tus_c / base_c
    goals.append(ratio_c >= INGEST_GOAL)
    print(f"{count} concurrent uploads of {args.concurrent_mb} MB (aggregate):")
    _line(f"baseline, {count} POSTs", base_c)
    _line(
        f"tus, {count} x (creation + one PATCH)",
        tus_c,
        f"  {ratio_c:.2f}x baseline  goal >= {INGEST_GOAL}x: {_goal(ratio_c >= INGEST_GOAL)}",
    )

    before, samples, big_rate = rss_during_big_upload(festival, tus, big, festival_files)
    milestones = [big // 4, big // 2, big]
    peaks = [max((rss for done, rss in samples if done <= m), default=0) for m in milestones]
    growth = (peaks[-1] - peaks[0]) / MB
    ok = peaks[-1] / MB <= RSS_GOAL_MB and growth <= FLAT_MB
    goals.append(ok)
    print(
        f"tus server RSS during one {args.big_gb:g} GB PATCH ({big_rate:.0f} MB/s, "
        f"{len(samples)} samples every {RSS_INTERVAL * 1000:.0f} ms):"
    )
    print(f"  {'after start and one 1 MB upload':<34} {started_rss / MB:8.1f} MB")
    print(f"  {'before this upload':<34} {before / MB:8.1f} MB")
    for milestone, peak in zip(milestones, peaks, strict=True):
        label = f"peak up to {milestone / GB:g} GB sent"
        what = "  (to the end: includes the server's SHA-256 pass)" if milestone == big else ""
        print(f"  {label:<34} {peak / MB:8.1f} MB{what}")
    print(
        f"  growth from {milestones[0] / GB:.2f} GB to {milestones[-1] / GB:.2f} GB: "
        f"{growth:+.1f} MB  goal <= {RSS_GOAL_MB:.0f} MB and flat (<= {FLAT_MB:.0f} MB "
        f"growth): {_goal(ok)}"
    )
    return 0 if all(goals) else 1


if __name__ == "__main__":
    raise SystemExit(main())
