"""The interviewee's private page, ``/consent/{token}`` (server-rendered, no account).

The token in the address is the key. Whoever holds it can watch the clip (before it is
published too), say it is fine to share, change their choices, or take their consent
back. Each action is a small form; a done action comes back (303) to the page with a
notice, and a refusal shows the form again with an error summary under its own status.

The token is in the address, so every answer here says ``Cache-Control: no-store`` and
``Referrer-Policy: no-referrer``, and asks search engines to stay away. An unknown or
revoked link gets the same page as one that never existed; guessing is slowed down by
the same throttle as the API (:func:`festival.consent.routes._guarded_token`).

Once consent is withdrawn (or has reached its end date) the link still opens, read-only,
so the person can see what happened and when. Nothing can revive it: a fresh consent is
a new record, given in person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from festival.clips.service import ClipServices
from festival.consent import service
from festival.consent.routes import _guarded_token
from festival.consent.schemas import CREDITS, LICENCES, SCOPES, ConsentChange, Review
from festival.db.engine import Database
from festival.errors import Conflict, FestivalError, FieldError, Invalid, NotFound, TooManyRequests
from festival.forms import convert
from festival.programme.forms import ErrorView
from festival.settings import Settings

DB = NamedDependency[Database]
CLIPS = NamedDependency[ClipServices]
SETTINGS = NamedDependency[Settings]
AnyRequest = Request[Any, Any, Any]

#: Sent with every answer under ``/consent/{token}``: the address is the key.
PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
#: ``?done=`` keys and the notice each shows. Only these texts are ever shown.
DONE = {
    "approved": "Thank you. You have told us your interview is fine to share. "
    "It will only be shown in the places you chose.",
    "changed": "Your choices are saved. They apply straight away, everywhere.",
    "withdrawn": "Done. You have taken your consent back, and your interview has been taken down.",
}
ENDED = ("withdrawn", "expired")
LABELS = {
    "scopes": "Where your interview may be shown and used",
    "credit": "How you are named",
    "display_name": "The name you choose",
    "licence": "Licence",
    "expires_on": "End date",
}
#: Where a summary link should take the keyboard for fields shown as groups.
ANCHORS = {
    "scopes": "scopes-timeline",
    "credit": "credit-name",
    "licence": "licence-all-rights-reserved",
}
#: The service's refusals, as sentences for this page.
SENTENCES = {
    ("expires_on", "must be in the future"): "The end date must be after today. "
    "Leave it empty if you do not want an end date.",
    ("display_name", "is needed to credit you by a chosen name"): "Write the name you "
    "would like to be known by",
    ("credit", "we do not have your name"): "We do not have your name. Choose a name to "
    "be known by, or choose not to be named.",
}
_LONGEST = re.compile(r"^Expected `str` of length <= (\d+)")
CREDIT_WORDS = {
    "name": "By your name",
    "chosen": "By the name you chose",
    "anonymous": "Not named. Where a name would go, the festival shows “Anonymous”.",
}


def _base(token: str) -> str:
    return f"/consent/{token}"


def _page(
    template: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    error: ErrorView | None = None,
    **context: Any,
) -> Template:
    context.setdefault("values", {})
    return Template(
        f"consent/{template}",
        context={
            "error": error,
            "errors": error.fields if error else {},
            "scopes": SCOPES,
            "credits": CREDITS,
            "credit_words": CREDIT_WORDS,
            "licences": LICENCES,
            **context,
        },
        status_code=status,
        headers={**PRIVATE, **(headers or {})},
    )


def _done(token: str, key: str) -> Redirect:
    return Redirect(f"{_base(token)}?done={key}", status_code=303, headers=PRIVATE)


def _sentence(item: FieldError) -> str:
    label = LABELS.get(item.field, "This answer")
    if match := _LONGEST.match(item.message):
        return f"{label} must be {match.group(1)} characters or fewer"
    if "matching regex" in item.message:
        return f"{label} must be one line of plain text"
    return item.message if item.message[:1].isupper() else f"{label}: {item.message}"


def _error_view(error: FestivalError) -> ErrorView:
    """Messages for the error summary and beside each field, in this page's words."""
    fields: dict[str, str] = {}
    items: list[tuple[str | None, str]] = []
    for item in error.errors:
        text = SENTENCES.get((item.field, item.message)) or _sentence(item)
        known = item.field in LABELS
        if known:
            fields.setdefault(item.field, text)
        items.append((ANCHORS.get(item.field, item.field) if known else None, text))
    return ErrorView(
        status=error.status,
        items=items,
        fields=fields,
        detail=None if error.errors else error.detail,
        fix=None if error.errors else (error.fix or None),
    )


def _refused(error: FestivalError) -> Template:
    """A link that does not open: unknown, replaced, or tried too often from here."""
    if isinstance(error, TooManyRequests):
        return _page(
            "review_problem.html", status=error.status, headers=error.headers, problem=error
        )
    # Unknown and replaced links look the same, so the page says nothing of which it was.
    return _page("review_unknown.html", status=404)


def _ended(
    review: Review,
    settings: Settings,
    *,
    notice: str | None = None,
    error: FestivalError | None = None,
) -> Template:
    return _page(
        "review_withdrawn.html",
        status=error.status if error else 200,
        error=_error_view(error) if error else None,
        review=review,
        base=_base(review.token),
        tz=settings.timezone,
        notice=notice,
    )


def _values(review: Review) -> dict[str, Any]:
    """The change form, filled in with what the person chose so far."""
    consent = review.consent
    return {
        "scopes": list(consent.scopes),
        "credit": consent.credit,
        "display_name": consent.credit_line if consent.credit == "chosen" else "",
        "licence": consent.licence,
        "expires_on": consent.expires_on.isoformat() if consent.expires_on else "",
    }


def _typed(form: Mapping[str, Any], scopes: list[str]) -> dict[str, Any]:
    return {
        "scopes": scopes,
        **{name: str(form.get(name) or "") for name in LABELS if name != "scopes"},
    }


def change_in(values: Mapping[str, Any]) -> ConsentChange:
    """The change form as the API's :class:`ConsentChange`; every field it shows is sent."""
    errors: list[FieldError] = []
    scopes = list(values.get("scopes") or [])
    if any(s not in SCOPES for s in scopes):
        errors.append(FieldError("scopes", "Choose from the places listed"))
    credit = str(values.get("credit") or "")
    if credit not in CREDITS:
        errors.append(FieldError("credit", "Choose how you would like to be named"))
    licence = str(values.get("licence") or "")
    if licence not in LICENCES:
        errors.append(FieldError("licence", "Choose a licence"))
    ends = str(values.get("expires_on") or "").strip()
    expires_on: date | None = None
    if ends:
        try:
            expires_on = date.fromisoformat(ends)
        except ValueError:
            errors.append(FieldError("expires_on", "Enter a real date, like 2027-06-30"))
    if errors:
        raise Invalid(
            "; ".join(f"{e.field}: {e.message}" for e in errors),
            fix="Correct the answers marked and save again.",
            errors=errors,
        )
    change: dict[str, Any] = {
        "scopes": list(dict.fromkeys(scopes)),
        "credit": credit,
        "licence": licence,
        "expires_on": expires_on,
    }
    if credit == "chosen":
        change["display_name"] = str(values.get("display_name") or "").strip()
    return convert(change, ConsentChange)


class IntervieweePages(Controller):
    """``/consent/{token}``: watch, approve, change, withdraw."""

    path = "/consent/{token:str}"
    include_in_schema = False

    @get("")
    async def review(
        self, request: AnyRequest, db: DB, settings: SETTINGS, token: FromPath[str]
    ) -> Template:
        try:
            await _guarded_token(request, db, token)
            review = await service.review(db, token)
        except (NotFound, TooManyRequests) as error:
            return _refused(error)
        notice = DONE.get(request.query_params.get("done", ""))
        if review.consent.state in ENDED:
            return _ended(review, settings, notice=notice)
        return _page(
            "review.html",
            review=review,
            base=_base(token),
            tz=settings.timezone,
            notice=notice,
            watchable=any(c.video_url for c in review.clips),
        )

    @post("/approve", status_code=303)
    async def approve(
        self, request: AnyRequest, db: DB, settings: SETTINGS, token: FromPath[str]
    ) -> Response[Any]:
        try:
            await _guarded_token(request, db, token)
            await service.approve(db, token)
        except (NotFound, TooManyRequests) as error:
            return _refused(error)
        except Conflict as error:
            return _ended(await service.review(db, token), settings, error=error)
        return _done(token, "approved")

    @get("/change")
    async def change_form(
        self, request: AnyRequest, db: DB, settings: SETTINGS, token: FromPath[str]
    ) -> Template:
        try:
            await _guarded_token(request, db, token)
            review = await service.review(db, token)
        except (NotFound, TooManyRequests) as error:
            return _refused(error)
        if review.consent.state in ENDED:
            return _ended(review, settings, error=_closed())
        return _page("review_change.html", review=review, base=_base(token), values=_values(review))

    @post("/change", status_code=303)
    async def change(
        self, request: AnyRequest, db: DB, settings: SETTINGS, token: FromPath[str]
    ) -> Response[Any]:
        form = await request.form()
        scopes = [str(s) for s in form.getall("scopes", [])]
        fields = {key: form.get(key) for key in form if key != "_csrf_token"}
        try:
            await _guarded_token(request, db, token)
            review = await service.review(db, token)
        except (NotFound, TooManyRequests) as error:
            return _refused(error)
        if review.consent.state in ENDED:
            return _ended(review, settings, error=_closed())
        try:
            await service.change(db, token, change_in({**fields, "scopes": scopes}))
        except Conflict as error:
            return _ended(await service.review(db, token), settings, error=error)
        except FestivalError as error:
            return _page(
                "review_change.html",
                status=error.status,
                error=_error_view(error),
                review=review,
                base=_base(token),
                values=_typed(fields, scopes),
            )
        return _done(token, "changed")

    @get("/withdraw")
    async def withdraw_confirm(
        self, request: AnyRequest, db: DB, settings: SETTINGS, token: FromPath[str]
    ) -> Template:
        try:
            await _guarded_token(request, db, token)
            review = await service.review(db, token)
        except (NotFound, TooManyRequests) as error:
            return _refused(error)
        if review.consent.state in ENDED:
            return _ended(review, settings, error=_closed())
        return _page("review_withdraw.html", review=review, base=_base(token))

    @post("/withdraw", status_code=303)
    async def withdraw(
        self, request: AnyRequest, clips: CLIPS, settings: SETTINGS, token: FromPath[str]
    ) -> Response[Any]:
        try:
            await _guarded_token(request, clips.db, token)
            await service.withdraw(clips.db, clips.jobs, token)
        except (NotFound, TooManyRequests) as error:
            return _refused(error)
        except Conflict as error:
            return _ended(await service.review(clips.db, token), settings, error=error)
        return _done(token, "withdrawn")


def _closed() -> Conflict:
    return Conflict(
        "Your consent has ended, so nothing can be changed or given again through this link.",
        fix="If you would like to be interviewed again, ask a festival volunteer.",
    )
