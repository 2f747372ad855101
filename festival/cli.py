"""The ``festival`` command: serve, worker, migrate-storage, migrate, demo, create-staff,
api-token, invite-volunteer, backup, restore, fsck."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence

from litestar import Litestar

from festival.settings import Settings, SettingsError, load_settings


def app_from_env() -> Litestar:
    """Factory for uvicorn workers: each process reads the same environment."""
    from festival.app import create_app

    return create_app(load_settings())


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from festival.db.migrate import migrate

    asyncio.run(migrate(settings.database_url))
    uvicorn.run(
        "festival.cli:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        log_level="info",
    )
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    import logging
    import signal

    from festival.db.migrate import migrate
    from festival.worker import check, run_worker

    if args.check:
        health = asyncio.run(check(settings))
        print(f"database {health.database}, media {health.media}")
        return 0 if health.status == "ok" else 1

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    async def run() -> None:
        await migrate(settings.database_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def asked_to_stop() -> None:
            # The first signal stops the worker cleanly; with the handlers removed, a
            # second one (Ctrl-C pressed again) ends it at once, and the lease brings any
            # job it held back to the queue.
            stop.set()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, asked_to_stop)
        await run_worker(settings, stop, grace=args.grace)

    asyncio.run(run())
    return 0


def _migrate_storage(settings: Settings, args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from festival.migrate_storage import (
        MigrationFailed,
        MigrationRefused,
        migrate_storage,
        target_settings,
    )

    if not (args.to or args.to_database or args.to_media):
        print(
            "festival: say where to move to: --to FILE, --to-database URL or --to-media URL.",
            file=sys.stderr,
        )
        return 2

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        target = target_settings(
            settings,
            os.environ,
            env_file=Path(args.to) if args.to else None,
            database_url=args.to_database,
            media_url=args.to_media,
        )
        report = asyncio.run(migrate_storage(settings, target, say=say))
    except MigrationRefused as error:
        print(f"festival: {error}", file=sys.stderr)
        return 2
    except MigrationFailed as error:
        print(f"festival: {error}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 0


def _count(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 1_000_000:
        raise argparse.ArgumentTypeError("give a whole number from 0 to 1000000")
    return int(value)


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    from festival.db.migrate import migrate

    asyncio.run(migrate(settings.database_url))
    print("The database is at the newest schema.")
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from festival.demo.loader import load_demo

    async def run() -> str:
        from festival.app import build_clip_services
        from festival.db.engine import Database
        from festival.db.migrate import migrate
        from festival.jobs import Jobs

        await migrate(settings.database_url)
        db = Database.open(settings.database_url)
        try:
            clips = build_clip_services(settings, db, Jobs(db))
            said = await load_demo(db, clips)
            if args.synthetic_clips:
                from festival.demo.loader import demo_data
                from festival.demo.synthetic import add_synthetic_clips

                slug = demo_data()["festival"]["slug"]
                added = await add_synthetic_clips(clips, slug, args.synthetic_clips)
                said += f"\nAdded {added} synthetic published interviews for load tests."
            return said
        finally:
            await db.close()

    print(asyncio.run(run()))
    return 0


def _create_staff(settings: Settings, args: argparse.Namespace) -> int:
    from festival.accounts.service import create_or_update_staff

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Same password again: ") != password:
            print("The two passwords differ. Nothing was changed.", file=sys.stderr)
            return 2

    async def run() -> int:
        from festival.db.engine import Database
        from festival.db.migrate import migrate

        await migrate(settings.database_url)
        db = Database.open(settings.database_url)
        try:
            return await create_or_update_staff(db, args.email, password, args.name or "")
        finally:
            await db.close()

    asyncio.run(run())
    print(f"Staff account {args.email} is ready.")
    return 0


def _api_token(settings: Settings, args: argparse.Namespace) -> int:
    from festival.accounts.service import new_api_token, revoke_api_tokens

    async def run() -> str:
        from festival.db.engine import Database
        from festival.db.migrate import migrate

        await migrate(settings.database_url)
        db = Database.open(settings.database_url)
        try:
            if args.revoke:
                stopped = await revoke_api_tokens(db, args.email)
                return f"Stopped {stopped} API token(s) of {args.email}."
            return await new_api_token(db, args.email)
        finally:
            await db.close()

    print(asyncio.run(run()))
    return 0


def _invite_volunteer(settings: Settings, args: argparse.Namespace) -> int:
    from festival.crew.schemas import InviteIn
    from festival.crew.service import invite
    from festival.forms import convert

    data = convert({"email": args.email, "name": args.name or ""}, InviteIn)

    async def run() -> str:
        from festival.db.engine import Database
        from festival.db.migrate import migrate

        await migrate(settings.database_url)
        db = Database.open(settings.database_url)
        try:
            return (await invite(db, args.festival, data, settings.base_url)).invite_url
        finally:
            await db.close()

    print(asyncio.run(run()))
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from festival.backup import backup

    manifest = backup(settings, Path(args.path), media=args.media)
    count = len(manifest.objects)
    what = "copies of" if args.media else "a manifest of"
    print(f"Backed up the database and {what} {count} media objects to {args.path}.")
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from festival.backup import restore

    done = restore(settings, Path(args.path))
    for key in done.missing:
        print(f"missing from the media store: {key}")
    for key in done.different:
        print(f"different from the backup (size or SHA-256): {key}")
    print(
        f"Restored the database into {settings.data_dir}; copied {done.copied} media objects "
        f"and checked {done.objects}."
    )
    if done.missing or done.different:
        print(
            f"{len(done.missing)} media objects are missing and {len(done.different)} differ. "
            "Restore them from the media store's own backup, then run festival fsck.",
            file=sys.stderr,
        )
        return 1
    return 0


def _fsck(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from festival.fsck import fsck

    async def run() -> int:
        from festival.app import build_clip_services
        from festival.db.engine import Database
        from festival.db.migrate import migrate
        from festival.jobs import Jobs

        await migrate(settings.database_url)
        db = Database.open(settings.database_url)
        try:
            jobs = Jobs(db, lease=timedelta(seconds=settings.job_lease_seconds))
            clips = build_clip_services(settings, db, jobs)
            report = await fsck(clips, repair=args.repair, grace=timedelta(seconds=args.grace))
        finally:
            await db.close()
        for finding in report.findings:
            print(finding.line())
        if not report.findings:
            print("The database and the media store agree.")
        elif report.clean:
            print(f"Repaired {len(report.findings)} differences; ran {report.jobs_run} jobs.")
        else:
            left = sum(not f.repaired for f in report.findings)
            print(f"Found {left} differences. Run festival fsck --repair to mend them.")
        return 0 if report.clean else 1

    return asyncio.run(run())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="festival", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the service (migrates first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)

    worker = commands.add_parser(
        "worker",
        help="run the background jobs (media, mail, deletions, sweeps) until SIGTERM",
        description="Run background jobs: probing, posters and renditions of uploaded clips, "
        "mail, deletions and sweeps. Migrates first. Start as many as you like beside app "
        "instances that have FESTIVAL_RUN_JOBS=false; each job goes to one of them. SIGTERM "
        "or Ctrl-C stops claiming jobs and lets the job in hand finish; a second one stops "
        "at once.",
    )
    worker.add_argument(
        "--grace",
        type=_count,
        default=30,
        metavar="SECONDS",
        help="how long a job in hand may run on after SIGTERM before it is handed back to "
        "the queue for another worker (default 30)",
    )
    worker.add_argument(
        "--check",
        action="store_true",
        help="only check that the database and the media store answer, then exit (status 1 "
        "if not): a health check for a worker's container",
    )
    worker.set_defaults(run=_worker)

    moved = commands.add_parser(
        "migrate-storage",
        help="copy the festival's database and media to other settings (PostgreSQL, S3)",
        description="Move the festival from the current settings (the environment) to "
        "another database and media store: stop the service, run this, then start the "
        "service on the target settings. Every row and every media object is copied, "
        "counts and SHA-256 checksums are checked, and the source is left untouched. The "
        "target database must hold no data; it is migrated first. A target sharing the "
        "source's database (or media store) copies only the media (or only the database).",
    )
    moved.add_argument(
        "--to",
        metavar="FILE",
        help="the target's settings as FESTIVAL_NAME=value lines, like a deployment's env "
        "file (blank lines and # comments allowed); FESTIVAL_DATA_DIR defaults to the "
        "source's",
    )
    moved.add_argument(
        "--to-database",
        metavar="URL",
        help="the target database (postgresql+asyncpg://... or sqlite+aiosqlite:///...), "
        "instead of the one in --to or the source's",
    )
    moved.add_argument(
        "--to-media",
        metavar="URL",
        help="the target media store (s3://bucket/prefix or file:///path), instead of the "
        "one in --to or the source's",
    )
    moved.set_defaults(run=_migrate_storage)

    commands.add_parser("migrate", help="bring the database to the newest schema").set_defaults(
        run=_migrate
    )

    demo = commands.add_parser("demo", help="load the demo festival (safe to repeat)")
    demo.add_argument(
        "--synthetic-clips",
        type=_count,
        default=0,
        metavar="N",
        help="also add N published interviews with made-up details, for load tests",
    )
    demo.set_defaults(run=_demo)

    staff = commands.add_parser("create-staff", help="create or update a staff account")
    staff.add_argument("email")
    staff.add_argument("--name", default="")
    staff.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    staff.set_defaults(run=_create_staff)

    token = commands.add_parser("api-token", help="print a new API token for a staff account")
    token.add_argument("email")
    token.add_argument(
        "--revoke",
        action="store_true",
        help="instead, stop every API token of that account working (a lost or leaked token)",
    )
    token.set_defaults(run=_api_token)

    volunteer = commands.add_parser(
        "invite-volunteer", help="invite a volunteer and print their link (also a bearer token)"
    )
    volunteer.add_argument("email")
    volunteer.add_argument("--festival", required=True, metavar="SLUG")
    volunteer.add_argument("--name", default="")
    volunteer.set_defaults(run=_invite_volunteer)

    saved = commands.add_parser(
        "backup", help="copy the database online and write a manifest of the media store"
    )
    saved.add_argument("path")
    saved.add_argument(
        "--media", action="store_true", help="copy the media objects too, not only their manifest"
    )
    saved.set_defaults(run=_backup)

    restored = commands.add_parser(
        "restore", help="restore a backup into a fresh data directory and check its media"
    )
    restored.add_argument("path")
    restored.set_defaults(run=_restore)

    check = commands.add_parser(
        "fsck", help="report differences between the database and the media store"
    )
    check.add_argument("--repair", action="store_true", help="mend what can be mended safely")
    check.add_argument(
        "--grace",
        type=_count,
        default=600,
        metavar="SECONDS",
        help="leave files younger than this alone: a running server may be recording them",
    )
    check.set_defaults(run=_fsck)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    from festival.errors import FestivalError

    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        return int(args.run(settings, args))
    except SettingsError as error:
        print(f"festival: configuration error: {error}", file=sys.stderr)
        return 2
    except FestivalError as error:
        print(f"festival: {error.detail} {error.fix}".strip(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
