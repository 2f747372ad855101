"""``create_app(settings)``: the one place where the service is wired together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from festival import formatting
from festival.accounts.routes import AccountsController, StaffPages
from festival.auth import FestivalCSRFMiddleware, IdentityMiddleware
from festival.crew.routes import CrewController, VolunteerCalendar, VolunteerController
from festival.crew.staff_pages import StaffCrewPages
from festival.crew.volunteer_pages import VolunteerPages
from festival.db.engine import Database
from festival.health import HealthController
from festival.problems import handle_error
from festival.programme.pages import PublicPages
from festival.programme.routes import ProgrammeController, ProgrammeExports
from festival.programme.staff_pages import StaffProgrammePages
from festival.settings import Settings

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


def create_app(settings: Settings) -> Litestar:
    """Build the service for ``settings``. Opening and closing happen in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.media_url.startswith("file://"):
            settings.media_root.mkdir(parents=True, exist_ok=True)
        db = Database.open(settings.database_url)
        app.state.db = db
        try:
            yield
        finally:
            await db.close()

    def provide_db(state: State) -> Database:
        return state.db  # type: ignore[no-any-return]

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
        render_plugins=[SwaggerRenderPlugin(), JsonRenderPlugin()],
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
            StaffCrewPages,
            PublicPages,
            StaffProgrammePages,
            create_static_files_router(path="/static", directories=[HERE / "static"]),
        ],
        lifespan=[lifespan],
        dependencies={
            "db": Provide(provide_db, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        middleware=[
            DefineMiddleware(FestivalCSRFMiddleware, config=csrf),
            IdentityMiddleware(),
        ],
        exception_handlers={Exception: handle_error},
        template_config=_templates(settings),
        openapi_config=openapi,
        request_max_body_size=settings.max_body_size,
        logging_config=LoggingConfig(log_exceptions="debug" if settings.debug else "never"),
        debug=settings.debug,
    )
