"""Benchmark: the public timeline's JSON page against a hello-world route of the same app.

Run ``python benchmarks/timeline.py [--clips 10000] [--posts 2000] [--seconds 10]
[--connections 64] [--growth 1000,100000]``.

It prepares a data directory with the demo festival (``festival demo``), adds
``--clips`` published interviews with ``--synthetic-clips`` and ``--posts`` blog posts,
each post linked to a session and to a few interviews, so every timeline item carries
sessions and posts. The server is ``festival serve``'s app (``create_app`` with the same
settings, one uvicorn worker, uvicorn's default loop and parser) with one extra route,
``GET /hello``, that answers a short text: the baseline, on the same app, server and
middleware. Jobs are off; nothing writes while it runs.

The load generator is wrk (Debian's ``wrk``) when it is installed, else a separate
Python process running httpx clients. Both targets get the same generator, the same
connections and the same time, taking turns, after a warm-up.

1. Throughput: requests per second for ``/api/v1/festivals/{slug}/timeline?limit=50``
   and for ``/hello``; goal: the timeline at 0.5x hello or better.
2. Latency: the timeline's p99 at ``--connections`` (64); goal: under 100 ms.
3. Growth: the median time of the timeline's first 19 pages (limit 50, one connection),
   each built afresh on its first request, with 1,000 clips and with 100,000; goal: no
   more than 1.3x. The same pages served again from the cache are shown beside.

Public pages are cached (festival.timeline.cache) and checked on every request against a
change counter that database triggers keep, so the throughput and latency figures are
for a timeline nobody is changing; the growth figures are for pages built afresh.

The exit status is 0 when every goal is met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

# This folder holds a media.py of its own; the service's media package must win.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

SLUG = "coproduction-week-2019"
TIMELINE = f"/api/v1/festivals/{SLUG}/timeline?limit=50"
HELLO = "/hello"


# --- the server (child process) ----------------------------------------------------------


def serve(port: int) -> None:
    import uvicorn
    from litestar import MediaType, get

    from festival.app import create_app
    from festival.settings import load_settings

    @get("/hello", media_type=MediaType.TEXT, sync_to_thread=False)
    def hello() -> str:
        return "Hello, world"

    app = create_app(load_settings())
    app.register(hello)
    uvicorn.run(app, host="127.0.0.1", port=port, proxy_headers=True, log_level="warning")


# --- data ------------------------------------------------------------------------------


def festival_cli(data: Path, *args: str) -> str:
    env = {**os.environ, "FESTIVAL_DATA_DIR": str(data), "FESTIVAL_RUN_JOBS": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "festival", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"festival {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


async def add_posts(data: Path, count: int) -> None:
    """``count`` posts, each linked to a session and to three interviews."""
    os.environ["FESTIVAL_DATA_DIR"] = str(data)
    from festival.db.engine import Database
    from festival.links import service as links
    from festival.links.schemas import End
    from festival.posts import service as posts
    from festival.posts.schemas import PostIn
    from festival.programme import service as programme
    from festival.settings import load_settings
    from festival.timeline import service as timeline

    settings = load_settings()
    db = Database.open(settings.database_url)
    chance = random.Random(7)
    try:
        sessions = [s.id for s in (await programme.programme(db, SLUG)).sessions]
        _, items = await timeline.latest(db, SLUG, settings.base_url, limit=1_000_000)
        clip_ids = [item.id for item in items]
        start = datetime(2019, 5, 1, 12, tzinfo=UTC)
        for n in range(count):
            post = await posts.create_post(
                db,
                SLUG,
                PostIn(
                    title=f"Notes from the festival, part {n + 1}",
                    author="The festival blog",
                    published_at=start + timedelta(hours=n),
                    url=f"https://blog.example.org/posts/{n + 1}",
                ),
            )
            await links.link(
                db, SLUG, End("post", post.id), End("session", chance.choice(sessions))
            )
            for clip_id in chance.sample(clip_ids, 3):
                await links.link(db, SLUG, End("post", post.id), End("clip", clip_id))
    finally:
        await db.close()


def prepare(folder: Path, clips: int, posts: int) -> Path:
    data = folder / f"data-{clips}"
    festival_cli(data, "demo", "--synthetic-clips", str(clips))
    if posts:
        asyncio.run(add_posts(data, posts))
    return data


# --- running a server --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, data: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "FESTIVAL_DATA_DIR": str(data), "FESTIVAL_RUN_JOBS": "false"}
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.port)], env=env
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + HELLO, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit("the server did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)


# --- load ----------------------------------------------------------------------------------


class Load:
    def __init__(self, rps: float, p50: float, p99: float, errors: int, tool: str) -> None:
        self.rps, self.p50, self.p99, self.errors, self.tool = rps, p50, p99, errors, tool


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, seconds: int, connections: int) -> Load:
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout

    def latency(label: str) -> float:
        found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert found, out
        return float(found.group(1)) * _UNITS[found.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Load(rps, latency("50"), latency("99"), errors, "wrk")


async def _client_task(url: str, until: float, times: list[float], errors: list[int]) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() < until:
            start = time.perf_counter()
            response = await client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                errors.append(response.status_code)


def _python_load(url: str, seconds: int, connections: int) -> Load:
    done = subprocess.run(
        [sys.executable, __file__, "--load", url, str(seconds), str(connections)],
        capture_output=True,
        text=True,
        check=True,
    )
    times, errors = json.loads(done.stdout)
    times.sort()
    return Load(
        len(times) / seconds,
        times[len(times) // 2],
        times[int(len(times) * 0.99)],
        errors,
        "httpx",
    )


async def _python_clients(url: str, seconds: int, connections: int) -> None:
    times: list[float] = []
    errors: list[int] = []
    until = time.monotonic() + seconds
    await asyncio.gather(*[_client_task(url, until, times, errors) for _ in range(connections)])
    print(json.dumps([times, len(errors)]))


def load(url: str, seconds: int, connections: int) -> Load:
    if shutil.which("wrk"):
        return _wrk(url, seconds, connections)
    return _python_load(url, seconds, connections)


def page_times(base: str, pages: int = 19) -> tuple[float, float]:
    """Median milliseconds of the timeline's first ``pages`` pages (limit 50), one
    connection: first each page built afresh (no cached copy yet), then each again from
    the cache."""
    with httpx.Client() as client:
        client.get(base + HELLO)
        urls = [TIMELINE]
        fresh = []
        for _ in range(pages):
            start = time.perf_counter()
            response = client.get(base + urls[-1])
            fresh.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200 and response.json()["count"] == 50
            urls.append(response.json()["next_url"])
        cached = []
        for url in urls[:pages] * 10:
            start = time.perf_counter()
            assert client.get(base + url).status_code == 200
            cached.append((time.perf_counter() - start) * 1000)
    return statistics.median(fresh), statistics.median(cached)


# --- the run -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=2_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--growth", default="1000,100000", help="two clip counts, or 'no'")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        url, seconds, connections = args.load
        asyncio.run(_python_clients(url, int(seconds), int(connections)))
        return 0
    if args.serve:
        serve(args.serve)
        return 0

    ok = True
    with tempfile.TemporaryDirectory(prefix="festival-bench-") as folder:
        started = time.monotonic()
        data = prepare(Path(folder), args.clips, args.posts)
        took = time.monotonic() - started
        print(f"prepared {args.clips} clips and {args.posts} posts in {took:.0f} s")
        server = Server(data)
        try:
            page = httpx.get(server.base + TIMELINE).json()
            assert page["count"] == 50, page
            assert all(i["sessions"] for d in page["days"] for i in d["items"])
            load(server.base + TIMELINE, 3, args.connections)  # warm-up
            load(server.base + HELLO, 3, args.connections)
            hello = load(server.base + HELLO, args.seconds, args.connections)
            timeline = load(server.base + TIMELINE, args.seconds, args.connections)
        finally:
            server.stop()
        ratio = timeline.rps / hello.rps
        print(f"load generator: {timeline.tool}, {args.connections} connections, ", end="")
        print(f"{args.seconds} s per route")
        print(f"{'route':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
        for name, result in (("hello", hello), ("timeline (limit 50)", timeline)):
            print(
                f"{name:<22}{result.rps:>10.0f}{result.p50:>10.1f}{result.p99:>10.1f}{result.errors:>8}"
            )
        print(f"throughput: timeline / hello = {ratio:.2f}x (goal >= 0.5x)")
        print(f"latency: timeline p99 = {timeline.p99:.1f} ms (goal < 100 ms)")
        ok &= ratio >= 0.5 and timeline.p99 < 100 and timeline.errors == 0 and hello.errors == 0

        if args.growth != "no":
            small, large = (int(n) for n in args.growth.split(","))
            fresh: dict[int, float] = {}
            cached: dict[int, float] = {}
            for count in (small, large):
                started = time.monotonic()
                grown = prepare(Path(folder), count, 0)
                print(f"prepared {count} clips in {time.monotonic() - started:.0f} s")
                server = Server(grown)
                try:
                    fresh[count], cached[count] = page_times(server.base)
                finally:
                    server.stop()
            growth = fresh[large] / fresh[small]
            print(
                f"growth, pages built afresh: {fresh[small]:.2f} ms at {small} clips, "
                f"{fresh[large]:.2f} ms at {large}: {growth:.2f}x (goal <= 1.3x)"
            )
            print(
                f"the same pages from the cache: {cached[small]:.2f} ms and "
                f"{cached[large]:.2f} ms: {cached[large] / cached[small]:.2f}x"
            )
            ok &= growth <= 1.3
    print("all goals met" if ok else "some goals not met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
