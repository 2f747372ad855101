"""``create_app(settings)``: the one place where the service is wired together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from festival import formatting
from festival.accounts.routes import AccountsController, StaffPages
from festival.auth import FestivalCSRFMiddleware, IdentityMiddleware
from festival.clips import service as clip_service
from festival.clips.caption_pages import IntervieweeCaptionPages, StaffCaptionPages
from festival.clips.cue_routes import CueController, IntervieweeCueController
from festival.clips.pages import UploadPages
from festival.clips.public_pages import PublicClipPages
from festival.clips.routes import ClipsController, MediaFiles, UploadsController
from festival.clips.service import ClipServices, DatabaseStates
from festival.clips.staff_pages import StaffClipPages
from festival.consent.capture_pages import ConsentCapturePages
from festival.consent.interviewee_pages import IntervieweePages
from festival.consent.mail import ReviewMail
from festival.consent.routes import ConsentController, IntervieweeController, IntervieweeMedia
from festival.consent.staff_pages import StaffConsentPages
from festival.crew.routes import CrewController, VolunteerCalendar, VolunteerController
from festival.crew.staff_pages import StaffCrewPages
from festival.crew.volunteer_pages import VolunteerPages
from festival.db.engine import Database
from festival.health import HealthController
from festival.jobs import Jobs
from festival.links.routes import LinksController
from festival.links.staff_pages import StaffLinkPages
from festival.openapi import CompleteJsonRenderPlugin
from festival.posts.routes import PostsController
from festival.posts.staff_pages import StaffPostPages
from festival.problems import handle_error
from festival.programme.pages import PublicPages
from festival.programme.routes import ProgrammeController, ProgrammeExports
from festival.programme.staff_pages import StaffProgrammePages
from festival.security import RefuseControlCharacters, add_security_headers
from festival.settings import Settings
from festival.storage import open_store
from festival.timeline.cache import Public, PublicCache
from festival.timeline.output_routes import (
    InterviewFeeds,
    OEmbedController,
    PlayerPages,
)
from festival.timeline.routes import TimelineController, TimelinePages
from media.tus import TusEngine

HERE = Path(__file__).parent
VERSION = "0.1.0"


def _templates(settings: Settings) -> TemplateConfig[JinjaTemplateEngine]:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
    )
    formatting.install(env, settings)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


def build_clip_services(settings: Settings, db: Database, jobs: Jobs) -> ClipServices:
    """The media store, the tus engine over it, and the clip jobs."""
    store = open_store(settings, db)
    engine = TusEngine(
        store,
        DatabaseStates(db),
        max_size=settings.tus_max_size,
        ttl=timedelta(hours=settings.upload_ttl_hours),
        key_prefix="originals",
    )
    services = ClipServices(
        db=db,
        store=store,
        engine=engine,
        jobs=jobs,
        work_dir=settings.data_dir / "work",
        mail=ReviewMail.of(settings, jobs),
    )
    clip_service.register_jobs(services)
    return services


def create_app(
    settings: Settings, *, http_transport: httpx.AsyncBaseTransport | None = None
) -> Litestar:
    """Build the service for ``settings``. Opening and closing happen in the lifespan.

    ``http_transport`` carries outbound HTTP (the blog's feed); tests pass an
    ``httpx.MockTransport`` to stand in for the remote blog.
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.media_url.startswith("file://"):
            settings.media_root.mkdir(parents=True, exist_ok=True)
        db = Database.open(settings.database_url)
        jobs = Jobs(db, lease=timedelta(seconds=settings.job_lease_seconds))
        clips = build_clip_services(settings, db, jobs)
        app.state.db = db
        app.state.jobs = jobs
        app.state.clips = clips
        app.state.public_cache = PublicCache(db, settings.database_url)
        app.state.http = httpx.AsyncClient(
            transport=http_transport,
            timeout=10.0,
            follow_redirects=True,
            headers={"User-Agent": f"festival/{VERSION} (+{settings.base_url})"},
        )
        if settings.run_jobs:
            # Imported here, since festival.worker imports this module for build_clip_services.
            from festival.worker import start_background_work

            await start_background_work(db, jobs)
        try:
            yield
        finally:
            await jobs.stop()
            await app.state.http.aclose()
            await app.state.public_cache.close()
            await db.close()

    def provide_db(state: State) -> Database:
        return state.db  # type: ignore[no-any-return]

    def provide_clips(state: State) -> ClipServices:
        return state.clips  # type: ignore[no-any-return]

    def provide_http(state: State) -> httpx.AsyncClient:
        return state.http  # type: ignore[no-any-return]

    def provide_public(state: State) -> Public:
        return Public(db=state.db, settings=settings, cache=state.public_cache, clips=state.clips)

    def provide_settings() -> Settings:
        return settings

    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name="festival_csrf",
        cookie_secure=settings.secure_cookies,
        cookie_httponly=True,
        cookie_samesite="lax",
    )
    openapi = OpenAPIConfig(
        title="Festival",
        version=VERSION,
        description="The interviewing side of a co-production festival.",
        path="/schema",
        # Only the JSON: Swagger UI runs inline script and code from a CDN, which the
        # Content-Security-Policy (festival/security.py) keeps out of this origin.
        render_plugins=[CompleteJsonRenderPlugin()],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", description="Staff API token"
                )
            }
        ),
    )
    return Litestar(
        route_handlers=[
            HealthController,
            AccountsController,
            StaffPages,
            ProgrammeController,
            ProgrammeExports,
            CrewController,
            VolunteerController,
            VolunteerCalendar,
            VolunteerPages,
            UploadPages,
            StaffCrewPages,
            UploadsController,
            ClipsController,
            MediaFiles,
            StaffClipPages,
            ConsentController,
            IntervieweeController,
            IntervieweeMedia,
            IntervieweePages,
            PublicClipPages,
            CueController,
            IntervieweeCueController,
            StaffCaptionPages,
            IntervieweeCaptionPages,
            ConsentCapturePages,
            StaffConsentPages,
            PublicPages,
            StaffProgrammePages,
            PostsController,
            StaffPostPages,
            LinksController,
            StaffLinkPages,
            TimelineController,
            TimelinePages,
            InterviewFeeds,
            OEmbedController,
            PlayerPages,
            create_static_files_router(path="/static", directories=[HERE / "static"]),
        ],
        lifespan=[lifespan],
        dependencies={
            "db": Provide(provide_db, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "clips": Provide(provide_clips, sync_to_thread=False),
            "public": Provide(provide_public, sync_to_thread=False),
            "http": Provide(provide_http, sync_to_thread=False),
        },
        middleware=[
            RefuseControlCharacters(),
            DefineMiddleware(FestivalCSRFMiddleware, config=csrf),
            IdentityMiddleware(),
        ],
        exception_handlers={Exception: handle_error},
        before_send=[add_security_headers],
        template_config=_templates(settings),
        openapi_config=openapi,
        request_max_body_size=settings.max_body_size,
        logging_config=LoggingConfig(log_exceptions="debug" if settings.debug else "never"),
        debug=settings.debug,
    )
