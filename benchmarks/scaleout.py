"""Benchmark: one festival instance against two on the same machine, over one PostgreSQL
database and one S3 bucket (issue 8), and PostgreSQL against SQLite for the timeline.

Run ``python benchmarks/scaleout.py [--clips 10000] [--seconds 8] [--connections 64]
[--uploads 8] [--upload-mb 4] [--rounds 3]``.

It starts a throwaway PostgreSQL cluster (``tests/postgres_server.py``) and a SeaweedFS
S3 server (``tests/s3_server.py``), then seeds the festival with ``festival migrate`` and
``festival demo --synthetic-clips N`` (subprocesses, ``FESTIVAL_DATABASE_URL`` set) with
the media in the bucket: the synthetic clips' one shared video, poster and captions are
written through the media store, so S3 works as well as a local folder and the PostgreSQL
set-up is the scaled one throughout. A SQLite data directory is seeded the same way, with
local media (the single-machine set-up); the timeline reads no media, so where the media
lives does not change the timeline figures.

The servers are ``festival serve`` processes (one uvicorn worker each, access log on),
as ``tests/test_several_instances.py`` starts them: two instances ``A`` and ``B`` with
their own data folders over the shared database and bucket, and one SQLite instance
``S``. All run with ``FESTIVAL_RUN_JOBS=false`` and no ``festival worker`` is started:
the upload figures are for the upload path alone (tus creation and PATCHes, the parts
staged in S3, the finished object assembled in S3, the upload's state in PostgreSQL),
not for processing, which a worker would do afterwards.

1. Timeline reads: ``/api/v1/festivals/{slug}/timeline?limit=50`` and the HTML timeline
   page, loaded with wrk when installed (else httpx clients in a separate process):
   ``--connections`` to ``A`` alone, then the same connections split between ``A`` and
   ``B`` (one wrk each, run at the same time, 1 thread each against 2 for the single
   run; requests per second summed), then all of them to ``S``. Ratios: two/one, and
   PostgreSQL/SQLite (one instance each). These pages come from each instance's cache,
   checked against the change counter on every request (one tiny query).
2. Pages built afresh: ``--fresh-pages`` timeline pages (JSON, limit 50, following the
   cursors from page 2 on) and the HTML pages at the same cursors, one connection, each
   requested for the first time, so none is in the cache (festival.timeline.cache keys
   on the path and query). Median milliseconds on ``A`` and on ``S``; ratio
   PostgreSQL/SQLite (above 1 means PostgreSQL is slower).
3. Uploads: ``--uploads`` tus uploads of ``--upload-mb`` MiB at once, in 1 MiB PATCHes
   (httpx), all to ``A``, then split between ``A`` and ``B``; aggregate MB/s, median of
   ``--rounds`` rounds taking turns. Ratio two/one.

The machine has 2 CPUs shared by the load generator, the instances, PostgreSQL and
SeaweedFS, so a second instance can gain little: the point is that nothing serialises
needlessly (two/one near 1 or above, not well below). For that reading the table also
shows the CPU the instances and PostgreSQL used, as a percentage of one core.

Every figure is measured in this run; there are no goals, and the exit status is 0
unless something failed. Every process, the cluster, the S3 server and the temporary
folder are removed at the end, also after Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tests.postgres_server import Cluster
    from tests.s3_server import SeaweedS3

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# This folder holds a media.py of its own; the service's media package must win. The
# repository root comes first, for tests.postgres_server and tests.s3_server.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SLUG = "coproduction-week-2019"
TIMELINE_PATH = f"/api/v1/festivals/{SLUG}/timeline"
TIMELINE_JSON = f"{TIMELINE_PATH}?limit=50"
TIMELINE_PAGE = f"/festivals/{SLUG}/timeline"
ROUTES = (("timeline JSON", TIMELINE_JSON), ("timeline page", TIMELINE_PAGE))
# The address the instances give out, as behind a load balancer; the same for SQLite,
# so every setup sends the same bytes.
PUBLIC = "http://festival.test"
SECRET = "scaleout-benchmark-secret-" + "x" * 40
MB = 1024 * 1024
PATCH_SIZE = MB
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"
TICKS = os.sysconf("SC_CLK_TCK")


# --- processes -------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child: get SIGTERM if this script dies without cleaning up (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pids: Sequence[int]) -> float:
    """User and system CPU seconds used so far by ``pids`` (from /proc; gone ones: 0)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root`` and all its children, the ones that already ended
    included (their time is added to the parent's when it reaps them). PostgreSQL starts
    a backend per connection, and short-lived ones would be missed otherwise."""
    try:
        stat = Path(f"/proc/{root}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    own = sum(int(f) for f in fields[11:15]) / TICKS  # utime, stime, cutime, cstime
    return own + cpu_seconds(children_of(root))


def children_of(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (PostgreSQL's backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry.name))
    return found


def remove_weed_sockets(ports: Sequence[int]) -> None:
    """``weed mini`` leaves Unix sockets named after its ports in /tmp
    (``seaweedfs-s3-PORT.sock`` and the like); remove this run's once it has stopped."""
    for port in ports:
        for path in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            with contextlib.suppress(OSError):
                path.unlink()


@dataclass
class Deployment:
    """Settings shared by every process of one set-up, and the processes started."""

    folder: Path
    settings: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self, name: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FESTIVAL_")}
        data_dir = self.folder / name
        data_dir.mkdir(parents=True, exist_ok=True)
        env.update(
            self.settings,
            FESTIVAL_DATA_DIR=str(data_dir),
            FESTIVAL_BASE_URL=PUBLIC,
            FESTIVAL_RUN_JOBS="false",
            **extra,
        )
        return env

    def cli(self, name: str, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "festival", *args],
            env=self.env(name),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"festival {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start_instance(self, name: str) -> Instance:
        port = free_port()
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "festival", "serve", "--port", str(port)],
                env=self.env(name),
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches this script, which stops them
                preexec_fn=_die_with_parent,
            )
        self.processes.append(process)
        return Instance(name, f"http://127.0.0.1:{port}", process, log)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()


@dataclass
class Instance:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"instance {self.name} exited at start:\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"instance {self.name} did not start:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# --- load ------------------------------------------------------------------------------


@dataclass
class Load:
    """One load run: requests per second summed over the instances loaded; latencies
    the worst of them; the CPU the instances and PostgreSQL used per second of it."""

    rps: float
    p50: float
    p99: float
    errors: int
    tool: str
    app_cpu: float = 0.0
    db_cpu: float | None = None


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _parse_wrk(out: str) -> Load:
    def latency(label: str) -> float:
        found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if found is None:
            raise RuntimeError(f"no {label}% latency in wrk's output:\n{out}")
        return float(found.group(1)) * _UNITS[found.group(2)]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"no Requests/sec in wrk's output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Load(float(rate.group(1)), latency("50"), latency("99"), errors, "wrk")


def _wrk(urls: Sequence[str], seconds: int, connections: int) -> Load:
    """One wrk per URL, all at once, sharing ``connections`` and two threads."""
    threads = max(1, 2 // len(urls))
    share = max(threads, connections // len(urls))
    runs = [
        subprocess.Popen(
            ["wrk", f"-t{threads}", f"-c{share}", f"-d{seconds}s", "--latency", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url in urls
    ]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=seconds + 60)
        if run.returncode != 0:
            raise RuntimeError(f"wrk failed ({run.returncode}):\n{out}\n{err}")
        results.append(_parse_wrk(out))
    return Load(
        sum(r.rps for r in results),
        max(r.p50 for r in results),
        max(r.p99 for r in results),
        sum(r.errors for r in results),
        "wrk",
    )


async def _client_task(url: str, until: float, times: list[float], errors: list[int]) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() < until:
            start = time.perf_counter()
            try:
                response = await client.get(url)
            except httpx.HTTPError:
                errors.append(0)
                continue
            times.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                errors.append(response.status_code)


async def _python_clients(urls: Sequence[str], seconds: int, connections: int) -> None:
    """In the load process: ``connections`` clients shared among ``urls``; prints, per URL,
    the request times (ms) and the number of errors as JSON."""
    until = time.monotonic() + seconds
    times: list[list[float]] = [[] for _ in urls]
    errors: list[list[int]] = [[] for _ in urls]
    await asyncio.gather(
        *[
            _client_task(urls[n % len(urls)], until, times[n % len(urls)], errors[n % len(urls)])
            for n in range(connections)
        ]
    )
    print(json.dumps([[t, len(e)] for t, e in zip(times, errors, strict=True)]))


def _python_load(urls: Sequence[str], seconds: int, connections: int) -> Load:
    """The fallback without wrk: one separate process of httpx clients for all URLs."""
    done = subprocess.run(
        [sys.executable, __file__, "--load", str(seconds), str(connections), *urls],
        capture_output=True,
        text=True,
        check=True,
    )
    parts = json.loads(done.stdout)
    rps = p50 = p99 = 0.0
    errors = 0
    for times, failed in parts:
        times.sort()
        if times:
            rps += len(times) / seconds
            p50 = max(p50, times[len(times) // 2])
            p99 = max(p99, times[int(len(times) * 0.99)])
        errors += failed
    return Load(rps, p50, p99, errors, "httpx")


def load(
    urls: Sequence[str],
    seconds: int,
    connections: int,
    instances: Sequence[Instance],
    postgres: int | None,
) -> Load:
    """Load ``urls`` at once and note the CPU ``instances`` and PostgreSQL (the backends
    of the postmaster ``postgres``) used meanwhile."""
    app_pids = [i.process.pid for i in instances]
    app_before = cpu_seconds(app_pids)
    db_before = tree_cpu_seconds(postgres) if postgres is not None else 0.0
    started = time.monotonic()
    if shutil.which("wrk"):
        result = _wrk(urls, seconds, connections)
    else:
        result = _python_load(urls, seconds, connections)
    took = time.monotonic() - started
    result.app_cpu = (cpu_seconds(app_pids) - app_before) / took * 100
    if postgres is not None:
        result.db_cpu = (tree_cpu_seconds(postgres) - db_before) / took * 100
    return result


# --- pages built afresh ------------------------------------------------------------------


def fresh_times(base: str, pages: int) -> dict[str, float]:
    """Median milliseconds of ``pages`` timeline pages built afresh: JSON (limit 50) from
    page 2 on, following the cursors, then the HTML page at each of those cursors; then
    the same requests again, now answered from the cache. One connection."""
    with httpx.Client(base_url=base, timeout=60) as client:
        first = client.get(TIMELINE_JSON)
        first.raise_for_status()
        cursor = first.json()["next_cursor"]
        cursors: list[str] = []
        json_ms: list[float] = []
        while cursor and len(cursors) < pages:
            params = {"limit": "50", "cursor": cursor}
            started = time.perf_counter()
            response = client.get(TIMELINE_PATH, params=params)
            json_ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            cursors.append(cursor)
            cursor = response.json()["next_cursor"]
        html_ms: list[float] = []
        for cursor in cursors:
            started = time.perf_counter()
            response = client.get(TIMELINE_PAGE, params={"cursor": cursor})
            html_ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        cached: list[float] = []
        for cursor in cursors:
            started = time.perf_counter()
            client.get(TIMELINE_PATH, params={"limit": "50", "cursor": cursor}).raise_for_status()
            cached.append((time.perf_counter() - started) * 1000)
    if not cursors:
        raise RuntimeError("the timeline has a single page: seed more clips (--clips)")
    return {
        "json": statistics.median(json_ms),
        "html": statistics.median(html_ms),
        "cached": statistics.median(cached),
        "pages": len(cursors),
    }


# --- uploads -----------------------------------------------------------------------------


def _metadata(filename: str) -> str:
    pairs = {"filename": filename, "filetype": "application/octet-stream"}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


async def _upload(
    client: httpx.AsyncClient, base: str, auth: dict[str, str], data: bytes, name: str
) -> None:
    created = await client.post(
        f"{base}/api/v1/uploads",
        headers={
            **auth,
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": _metadata(name),
        },
    )
    if created.status_code != 201:
        raise RuntimeError(f"creation on {base}: {created.status_code} {created.text[:300]}")
    path = httpx.URL(created.headers["location"]).path  # the public address's path
    offset = 0
    while offset < len(data):
        piece = data[offset : offset + PATCH_SIZE]
        sent = await client.patch(
            f"{base}{path}",
            content=piece,
            headers={**auth, **TUS, "Upload-Offset": str(offset), "Content-Type": OCTETS},
        )
        if sent.status_code != 204:
            raise RuntimeError(f"PATCH on {base}: {sent.status_code} {sent.text[:300]}")
        offset += len(piece)
        if int(sent.headers["upload-offset"]) != offset:
            raise RuntimeError(f"{base} is at offset {sent.headers['upload-offset']}, not {offset}")


async def _uploads(bases: Sequence[str], auth: dict[str, str], data: bytes, count: int) -> float:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    timeout = httpx.Timeout(300.0, connect=10.0)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _upload(client, bases[n % len(bases)], auth, data, f"bench-{uuid.uuid4().hex}.bin")
                for n in range(count)
            )
        )
        elapsed = time.perf_counter() - started
    return count * len(data) / MB / elapsed


def uploads(bases: Sequence[str], auth: dict[str, str], data: bytes, count: int) -> float:
    """``count`` uploads at once, spread over ``bases`` in turn: aggregate MB/s."""
    return asyncio.run(_uploads(bases, auth, data, count))


# --- the run -----------------------------------------------------------------------------


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--clips", type=int, default=10_000, help="synthetic published clips")
    parser.add_argument("--seconds", type=int, default=8, help="length of each load run")
    parser.add_argument("--connections", type=int, default=64, help="in all, per load run")
    parser.add_argument("--fresh-pages", type=int, default=19, help="pages built afresh")
    parser.add_argument("--uploads", type=int, default=8, help="concurrent uploads")
    parser.add_argument("--upload-mb", type=int, default=4, help="MiB per upload")
    parser.add_argument("--rounds", type=int, default=3, help="upload rounds (median)")
    parser.add_argument("--load", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        seconds, connections, *urls = args.load
        asyncio.run(_python_clients(urls, int(seconds), int(connections)))
        return 0
    if not (
        args.clips >= 100
        and args.seconds >= 1
        and args.connections >= 2
        and args.fresh_pages >= 1
        and args.uploads >= 2
        and args.upload_mb >= 1
        and args.rounds >= 1
    ):
        parser.error(
            "--clips >= 100, --seconds >= 1, --connections >= 2, --fresh-pages >= 1, "
            "--uploads >= 2, --upload-mb >= 1, --rounds >= 1"
        )

    signal.signal(signal.SIGTERM, _interrupt)  # clean up as after Ctrl-C
    from tests import postgres_server
    from tests.s3_server import SeaweedS3

    work = Path(tempfile.mkdtemp(prefix="festival-scaleout-bench-"))
    cluster: Cluster | None = None
    s3: SeaweedS3 | None = None
    deployments: list[Deployment] = []
    try:
        cluster = postgres_server.Cluster()
        os.environ[postgres_server.ENV] = cluster.start()
        s3 = SeaweedS3()
        s3.start()
        return run(args, work, cluster, s3, deployments)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        for deployment in deployments:
            deployment.stop()
        if s3 is not None:
            ports = list(s3.ports.values())
            s3.stop()
            remove_weed_sockets(ports)
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


def _postmaster(cluster: Cluster) -> int | None:
    try:
        return int((cluster.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def run(
    args: argparse.Namespace,
    work: Path,
    cluster: Cluster,
    s3: SeaweedS3,
    deployments: list[Deployment],
) -> int:
    from tests import postgres_server

    cpus = len(os.sched_getaffinity(0))
    load_avg = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"scale-out benchmark: {cpus} CPUs, load average {load_avg} at the start")

    # PostgreSQL + S3: one database, one bucket, seeded once.
    started = time.monotonic()
    database = asyncio.run(postgres_server.create_database("scaleout"))
    bucket = s3.create_bucket("scaleout")
    settings = {f"FESTIVAL_{k.upper()}": v for k, v in s3.settings(bucket).items()}
    settings.update(FESTIVAL_DATABASE_URL=database, FESTIVAL_SECRET_KEY=SECRET)
    shared = Deployment(work / "postgres", settings)
    deployments.append(shared)
    shared.cli("seed", "migrate")
    shared.cli("seed", "demo", "--synthetic-clips", str(args.clips))
    link = shared.cli("seed", "invite-volunteer", "bench@festival.test", "--festival", SLUG)
    token = link.strip().splitlines()[-1].rstrip("/").rsplit("/", 1)[1]
    auth = {"Authorization": f"Bearer {token}"}
    seeded_pg = time.monotonic() - started

    # SQLite with local media, seeded the same way.
    started = time.monotonic()
    single = Deployment(work / "sqlite", {})
    deployments.append(single)
    single.cli("s", "demo", "--synthetic-clips", str(args.clips))
    seeded_sqlite = time.monotonic() - started
    print(
        f"seeded {args.clips} published clips: PostgreSQL + S3 in {seeded_pg:.0f} s, "
        f"SQLite in {seeded_sqlite:.0f} s"
    )

    a, b = shared.start_instance("a"), shared.start_instance("b")
    s = single.start_instance("s")
    for instance in (a, b, s):
        instance.wait_until_up()
    postmaster = _postmaster(cluster)
    for instance in (a, b, s):
        page = httpx.get(instance.url + TIMELINE_JSON, timeout=60).json()
        if page["count"] != 50:
            raise RuntimeError(f"instance {instance.name}: {page}")

    seconds, connections = args.seconds, args.connections
    setups = (
        ("PostgreSQL, 1 instance", (a,), postmaster),
        ("PostgreSQL, 2 instances", (a, b), postmaster),
        ("SQLite, 1 instance", (s,), None),
    )
    results: dict[tuple[str, str], Load] = {}
    for route, path in ROUTES:
        for instances in ((a, b), (s,)):  # warm-up: imports, pools, the first page
            load([i.url + path for i in instances], 2, connections, instances, None)
        for setup, instances, postgres in setups:
            urls = [i.url + path for i in instances]
            results[route, setup] = load(urls, seconds, connections, instances, postgres)

    fresh_pg = fresh_times(a.url, args.fresh_pages)
    fresh_sqlite = fresh_times(s.url, args.fresh_pages)

    data = os.urandom(args.upload_mb * MB)
    uploads([a.url, b.url], auth, data[:MB], 2)  # warm-up: one upload each
    one: list[float] = []
    two: list[float] = []
    # Where the CPU goes during the uploads: is a second instance short of work or of CPU?
    weed = s3.pid
    groups: dict[str, Callable[[], float]] = {
        "instances": lambda: cpu_seconds([a.process.pid, b.process.pid]),
        "PostgreSQL": lambda: tree_cpu_seconds(postmaster) if postmaster is not None else 0.0,
        "S3 server": lambda: tree_cpu_seconds(weed) if weed is not None else 0.0,
    }
    busy: dict[str, dict[str, list[float]]] = {"1": {}, "2": {}}

    def measured(setup: str, bases: list[str]) -> float:
        before = {name: used() for name, used in groups.items()}
        own, started = time.process_time(), time.perf_counter()
        rate = uploads(bases, auth, data, args.uploads)
        took = time.perf_counter() - started
        for name, used in groups.items():
            share = (used() - before[name]) / took * 100
            busy[setup].setdefault(name, []).append(share)
        busy[setup].setdefault("load generator", []).append(
            (time.process_time() - own) / took * 100
        )
        return rate

    for _ in range(args.rounds):
        one.append(measured("1", [a.url]))
        two.append(measured("2", [a.url, b.url]))

    # --- the report ----------------------------------------------------------------------
    tool = next(iter(results.values())).tool
    print(
        f"\ntimeline reads: {tool}, {connections} connections in all, {seconds} s per run; "
        "two instances share the connections (one load generator each, at once)"
    )
    print(
        f"{'route':<15}{'setup':<25}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'app CPU':>9}{'PG CPU':>8}"
    )
    for route, _ in ROUTES:
        for setup, _, _ in setups:
            r = results[route, setup]
            db = f"{r.db_cpu:.0f}%" if r.db_cpu is not None else "-"
            print(
                f"{route:<15}{setup:<25}{r.rps:>9.0f}{r.p50:>9.1f}{r.p99:>9.1f}{r.errors:>8}"
                f"{r.app_cpu:>8.0f}%{db:>8}"
            )
    print("(CPU: per cent of one core, summed over the instances and PostgreSQL's backends)")
    for route, _ in ROUTES:
        one_pg = results[route, "PostgreSQL, 1 instance"].rps
        two_pg = results[route, "PostgreSQL, 2 instances"].rps
        sqlite = results[route, "SQLite, 1 instance"].rps
        print(
            f"  {route}: two/one = {two_pg / one_pg:.2f}x; "
            f"PostgreSQL/SQLite (one instance) = {one_pg / sqlite:.2f}x"
        )

    print(
        f"\npages built afresh (not in the cache), one connection, median of "
        f"{fresh_pg['pages']} (PostgreSQL) and {fresh_sqlite['pages']} (SQLite):"
    )
    for kind, label in (("json", "timeline JSON, limit 50"), ("html", "timeline page (HTML)")):
        print(
            f"  {label:<26} PostgreSQL {fresh_pg[kind]:7.2f} ms, SQLite {fresh_sqlite[kind]:7.2f} "
            f"ms: PostgreSQL/SQLite = {fresh_pg[kind] / fresh_sqlite[kind]:.2f}x"
        )
    print(
        f"  {'the JSON again, cached':<26} PostgreSQL {fresh_pg['cached']:7.2f} ms, SQLite "
        f"{fresh_sqlite['cached']:7.2f} ms"
    )

    one_rate, two_rate = statistics.median(one), statistics.median(two)
    print(
        f"\nuploads: {args.uploads} at once, {args.upload_mb} MiB each in "
        f"{PATCH_SIZE // MB} MiB PATCHes (tus), PostgreSQL + S3, no worker running; "
        f"MB/s, median of {args.rounds} (min-max)"
    )
    print(f"  1 instance   {one_rate:7.1f} MB/s ({min(one):.0f}-{max(one):.0f})")
    print(f"  2 instances  {two_rate:7.1f} MB/s ({min(two):.0f}-{max(two):.0f})")
    print(f"  two/one = {two_rate / one_rate:.2f}x")
    for setup, label in (("1", "1 instance"), ("2", "2 instances")):
        shares = ", ".join(
            f"{name} {statistics.median(values):.0f}%" for name, values in busy[setup].items()
        )
        print(f"  CPU during uploads, {label}: {shares} (per cent of one core)")
    load_avg = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"\nload average {load_avg} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
