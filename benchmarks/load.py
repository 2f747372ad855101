"""Load: attendees browsing while volunteers upload, against the real service.

Run ``python benchmarks/load.py [--attendees 200] [--volunteers 10] [--seconds 60]
[--clips 10000]``.

It prepares a data directory with ``festival demo --synthetic-clips N`` (the demo
festival with N published interviews), invites the volunteers with ``festival
invite-volunteer``, and starts ``festival serve`` as a process with its job worker on, so
the uploaded clips are probed and rendered while the load runs.

* **Attendees** (one separate process, httpx, one connection each): each walks the
  programme page, the timeline page, the timeline JSON, a session page and a clip page
  (a random published interview), with a think time of 0.5 to 1.5 s between pages.
* **Volunteers** (this process): each uploads a generated 60-second H.264/AAC clip over
  tus in 256 kB PATCHes, again and again, as phones on festival wifi would.

It reports, per page, the number of requests, errors, and p50, p95 and p99 times; the
uploads finished and their errors; and the server's CPU time (user + system, as a share
of one core) and peak resident memory (VmHWM). Goal: no errors. The exit status is 0
when there were none.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

# This folder holds a media.py of its own; the service's media package must win.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

SLUG = "coproduction-week-2019"
PAGES = {
    "programme": f"/festivals/{SLUG}/programme",
    "timeline page": f"/festivals/{SLUG}/timeline",
    "timeline JSON": f"/api/v1/festivals/{SLUG}/timeline?limit=50",
    "session page": f"/festivals/{SLUG}/sessions/{{session}}",
    "clip page": "/clips/{clip}",
}
CHUNK = 256 * 1024


def festival_cli(data: Path, *args: str) -> str:
    env = {**os.environ, "FESTIVAL_DATA_DIR": str(data)}
    done = subprocess.run(
        [sys.executable, "-m", "festival", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"festival {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- attendees (child process) -----------------------------------------------------------


async def attendee(
    client: httpx.AsyncClient,
    until: float,
    sessions: list[int],
    clips: list[int],
    times: dict[str, list[float]],
    errors: dict[str, int],
    chance: random.Random,
) -> None:
    while time.monotonic() < until:
        for name, path in PAGES.items():
            url = path.format(session=chance.choice(sessions), clip=chance.choice(clips))
            start = time.perf_counter()
            try:
                response = await client.get(url)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            times[name].append((time.perf_counter() - start) * 1000)
            if not ok:
                errors[name] += 1
            await asyncio.sleep(chance.uniform(0.5, 1.5))
            if time.monotonic() >= until:
                return


async def attendees(base: str, count: int, seconds: int) -> None:
    async with httpx.AsyncClient(base_url=base) as probe:
        timeline = (await probe.get(f"/api/v1/festivals/{SLUG}/timeline?limit=100")).json()
        clips = [i["id"] for d in timeline["days"] for i in d["items"]]
        sessions = sorted(
            {s["id"] for d in timeline["days"] for i in d["items"] for s in i["sessions"]}
        )
    times: dict[str, list[float]] = {name: [] for name in PAGES}
    errors: dict[str, int] = dict.fromkeys(PAGES, 0)
    until = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    chance = random.Random(2019)
    clients = [httpx.AsyncClient(base_url=base, limits=limits, timeout=60) for _ in range(count)]
    try:
        await asyncio.gather(
            *[
                attendee(c, until, sessions, clips, times, errors, random.Random(chance.random()))
                for c in clients
            ]
        )
    finally:
        for c in clients:
            await c.aclose()
    print(json.dumps({"times": times, "errors": errors}))


# --- volunteers -----------------------------------------------------------------------------


def _metadata(filename: str) -> str:
    pairs = {"filename": filename, "filetype": "video/mp4"}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


async def volunteer(
    base: str, token: str, video: bytes, until: float, results: dict[str, int], n: int
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    async with httpx.AsyncClient(base_url=base, timeout=120, headers=headers) as client:
        while time.monotonic() < until:
            try:
                created = await client.post(
                    "/api/v1/uploads",
                    headers={
                        "Upload-Length": str(len(video)),
                        "Upload-Metadata": _metadata(f"interview-{n}.mp4"),
                    },
                )
                if created.status_code != 201:
                    results["errors"] += 1
                    continue
                location = created.headers["location"]
                offset = 0
                while offset < len(video):
                    piece = video[offset : offset + CHUNK]
                    sent = await client.patch(
                        location,
                        content=piece,
                        headers={
                            "Upload-Offset": str(offset),
                            "Content-Type": "application/offset+octet-stream",
                        },
                    )
                    if sent.status_code != 204:
                        results["errors"] += 1
                        break
                    offset = int(sent.headers["upload-offset"])
                else:
                    results["finished"] += 1
            except httpx.HTTPError:
                results["errors"] += 1


# --- the server's use of the machine ---------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


async def load_phase(
    base: str, args: argparse.Namespace, tokens: list[str], payload: bytes
) -> tuple[dict[str, object], dict[str, int]]:
    until = time.monotonic() + args.seconds
    results = {"finished": 0, "errors": 0}
    crowd = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--crowd",
        base,
        str(args.attendees),
        str(args.seconds),
        stdout=asyncio.subprocess.PIPE,
    )
    uploads = asyncio.gather(
        *[volunteer(base, token, payload, until, results, n) for n, token in enumerate(tokens)]
    )
    out, _ = await crowd.communicate()
    await uploads
    return json.loads(out), results


def run(args: argparse.Namespace) -> int:
    from festival.demo.media import make_demo_clip

    with tempfile.TemporaryDirectory(prefix="festival-load-") as folder:
        data = Path(folder) / "data"
        started = time.monotonic()
        festival_cli(data, "demo", "--synthetic-clips", str(args.clips))
        tokens = [
            festival_cli(data, "invite-volunteer", f"phone{n}@load.test", "--festival", SLUG)
            .strip()
            .rsplit("/", 1)[1]
            for n in range(args.volunteers)
        ]
        video = make_demo_clip(Path(folder) / "upload.mp4", "A load-test interview", seconds=60)
        took = time.monotonic() - started
        print(f"prepared {args.clips} clips and {args.volunteers} volunteers in {took:.0f} s")
        print(f"each upload is a {video.stat().st_size / 1e6:.1f} MB video")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "FESTIVAL_DATA_DIR": str(data),
            "FESTIVAL_RUN_JOBS": "true",
            # Upload locations are absolute: they must name this server.
            "FESTIVAL_BASE_URL": base,
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "festival", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    if httpx.get(base + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            cpu_before = cpu_seconds(server.pid)
            crowd_result, results = asyncio.run(load_phase(base, args, tokens, video.read_bytes()))
            cpu = cpu_seconds(server.pid) - cpu_before
            peak = peak_rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
    print(
        f"{args.attendees} attendees and {args.volunteers} volunteers for {args.seconds} s "
        "(think time 0.5-1.5 s between pages)"
    )
    print(f"{'page':<16}{'requests':>10}{'errors':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    total_errors = results["errors"]
    times_by_page = crowd_result["times"]
    errors_by_page = crowd_result["errors"]
    assert isinstance(times_by_page, dict) and isinstance(errors_by_page, dict)
    for name, times in times_by_page.items():
        errors = int(errors_by_page[name])
        total_errors += errors
        print(
            f"{name:<16}{len(times):>10}{errors:>8}{percentile(times, 0.50):>10.1f}"
            f"{percentile(times, 0.95):>10.1f}{percentile(times, 0.99):>10.1f}"
        )
    print(f"uploads finished: {results['finished']}, upload errors: {results['errors']}")
    print(
        f"server CPU: {cpu:.1f} s in {args.seconds} s ({cpu / args.seconds:.0%} of one core); "
        f"peak memory {peak:.0f} MB"
    )
    print("no errors" if total_errors == 0 else f"{total_errors} errors")
    return 0 if total_errors == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attendees", type=int, default=200)
    parser.add_argument("--volunteers", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clips", type=int, default=10_000)
    parser.add_argument("--crowd", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.crowd:
        base, count, seconds = args.crowd
        asyncio.run(attendees(base, int(count), int(seconds)))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
