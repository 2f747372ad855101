"""A throwaway PostgreSQL cluster for the tests, and fresh databases inside it.

The cluster lives in a temporary folder, listens on loopback only, and is built with
Debian's ``initdb``/``pg_ctl`` (``scripts/install-system-packages`` installs them). It is
tuned for tests, not for keeping data: no fsync, no synchronous commit. PostgreSQL refuses
to run as root, so as root it runs as the ``postgres`` user the Debian package creates.

The pytest controller starts one cluster for the whole run and hands its address to the
test processes in ``FESTIVAL_TEST_POSTGRES_URL``; each test gets its own database, copied
from a migrated template with ``CREATE DATABASE ... TEMPLATE``, and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import asyncpg

ENV = "FESTIVAL_TEST_POSTGRES_URL"
USER = "festival"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"PostgreSQL's {name} is missing: run scripts/install-system-packages "
            "(make test does) to install Debian's postgresql package"
        )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """One running cluster; :meth:`stop` removes it and its folder."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="festival-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> str:
        self._run(
            _bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        options = " ".join(
            [
                "-h 127.0.0.1",
                f"-p {self.port}",
                f"-k {self.folder}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=400",
                "-c shared_buffers=128MB",
            ]
        )
        self._run(
            _bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def server_url() -> str:
    url = os.environ.get(ENV)
    if not url:
        raise RuntimeError(f"{ENV} is not set: the test run did not start PostgreSQL")
    return url


def database_url(name: str, *, driver: str = "postgresql+asyncpg") -> str:
    """The address of database ``name`` in the test cluster, for SQLAlchemy."""
    base = server_url().rsplit("/", 1)[0]
    return f"{base.replace('postgresql', driver, 1)}/{name}"


async def _admin(statement: str) -> None:
    # Databases are created and dropped outside a transaction, one statement each.
    for attempt in range(50):
        conn = await asyncpg.connect(server_url())
        try:
            await conn.execute(statement)
            return
        except asyncpg.exceptions.ObjectInUseError:
            # CREATE DATABASE ... TEMPLATE refuses while anyone is connected to the
            # template; a pool that is still closing lets go in a moment.
            if attempt == 49:
                raise
        finally:
            await conn.close()
        await asyncio.sleep(0.1)


async def create_database(name: str, template: str | None = None) -> str:
    clause = f" TEMPLATE {template}" if template else ""
    await _admin(f"CREATE DATABASE {name}{clause}")
    return database_url(name)


async def drop_database(name: str) -> None:
    await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
