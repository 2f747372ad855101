"""Staff sign-in pages and the API's ``/me``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from festival.accounts import service
from festival.accounts.schemas import Me, SignIn
from festival.auth import SESSION_COOKIE, identity_of
from festival.db.engine import Database
from festival.errors import FestivalError
from festival.forms import convert, form_values
from festival.settings import Settings


def _safe_next(value: str | None) -> str:
    """Only ever send people back to a path on this site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/staff"


class AccountsController(Controller):
    path = "/api/v1"
    tags = ["accounts"]

    @get("/me", summary="Who the bearer of this request is")
    async def me(self, request: Request[Any, Any, Any]) -> Me:
        identity = identity_of(request)
        return Me(kind=identity.kind, id=identity.id, email=identity.email, name=identity.name)


class StaffPages(Controller):
    path = "/staff"
    include_in_schema = False

    @get("/sign-in")
    async def sign_in_page(self, request: Request[Any, Any, Any]) -> Template:
        return Template(
            "staff/sign_in.html",
            context={"next": _safe_next(request.query_params.get("next")), "values": {}},
        )

    @post("/sign-in", status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
    ) -> Response[Any]:
        form = await request.form()
        target = _safe_next(form.get("next"))
        try:
            data = convert(form_values(form), SignIn)
            _, session = await service.sign_in(
                db,
                data,
                request.client.host if request.client else "unknown",
                attempts=settings.sign_in_attempts,
                window=settings.sign_in_window,
                max_age=settings.session_max_age,
            )
        except FestivalError as error:
            return Template(
                "staff/sign_in.html",
                context={"next": target, "error": error, "values": {"email": form.get("email")}},
                status_code=error.status,
                headers=error.headers,
            )
        response = Redirect(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session.token,
            max_age=settings.session_max_age,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="lax",
        )
        return response

    @post("/sign-out", status_code=303)
    async def sign_out(
        self, request: Request[Any, Any, Any], db: NamedDependency[Database]
    ) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await service.sign_out(db, token)
        response = Redirect("/staff/sign-in?signed_out=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response
