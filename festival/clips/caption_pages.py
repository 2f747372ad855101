"""Pages to correct caption words: one for staff, one for the person in the clip.

Both show the clip with its captions on, then one box per caption labelled with its
times, and a Save button. A save comes back (303) to the page with a notice; a refusal
shows the form again under the error's status, with an error summary whose links take
the keyboard to the caption that is wrong. The person in the clip gets the same form in
plainer words, under their private link (no-store, no referrer, like their other pages).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from festival.auth import identity_of, staff_only
from festival.clips import cue_edits
from festival.clips.cue_edits import CueCorrection, CueCorrections, Editor
from festival.clips.service import ClipServices
from festival.consent.interviewee_pages import PRIVATE
from festival.consent.routes import _guarded_token
from festival.errors import (
    Conflict,
    FestivalError,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from festival.programme.forms import ErrorView
from festival.programme.staff_pages import sign_in_first

CLIPS = NamedDependency[ClipServices]
AnyRequest = Request[Any, Any, Any]

#: ``?done=`` keys and the notice each shows, in each page's words.
STAFF_DONE = {
    "saved": "The captions are saved. The new words show in the player, the transcript and search.",
    "unchanged": "Nothing was changed: every caption already had those words.",
}
INTERVIEWEE_DONE = {
    "saved": "Thank you. Your changes to the words are saved.",
    "unchanged": "You did not change any words, so nothing was saved.",
}
_FIELD = re.compile(r"^cue-(\d{1,6})$")
_POSITION = re.compile(r"^corrections\[(\d+)\]")


def span(start: float, end: float) -> str:
    """``0:03 to 0:05``: whole seconds a caption is on screen for, as a player shows."""
    return f"{_clock(math.floor(start))} to {_clock(math.ceil(end))}"


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def corrections_in(form: FormMultiDict) -> tuple[CueCorrections, list[int]]:
    """The form as the API's corrections, and the caption number at each position."""
    indexes: list[int] = []
    items: list[CueCorrection] = []
    for name in form:
        match = _FIELD.match(name)
        if match and int(match.group(1)) not in indexes:
            indexes.append(int(match.group(1)))
            items.append(CueCorrection(index=int(match.group(1)), text=str(form.get(name) or "")))
    version = str(form.get("version") or "") or None
    return CueCorrections(corrections=items, version=version), indexes


def _error_view(error: FestivalError, indexes: list[int]) -> ErrorView:
    """The service's refusal with each message beside the caption it is about."""
    fields: dict[str, str] = {}
    items: list[tuple[str | None, str]] = []
    for item in error.errors:
        match = _POSITION.match(item.field)
        position = int(match.group(1)) if match else -1
        anchor = f"cue-{indexes[position]}" if 0 <= position < len(indexes) else None
        if anchor:
            fields.setdefault(anchor, item.message)
        items.append((anchor, item.message))
    return ErrorView(
        status=error.status,
        items=items,
        fields=fields,
        detail=None if error.errors else error.detail,
        fix=None if error.errors else (error.fix or None),
    )


def _values(editor: Editor, typed: Mapping[str, str] | None = None) -> dict[str, str]:
    shown = {f"cue-{c.index}": c.text for c in editor.cues.cues} if editor.cues else {}
    return {**shown, **(typed or {})}


def _context(
    editor: Editor,
    *,
    error: ErrorView | None,
    values: Mapping[str, str],
    notice: str | None,
    **more: Any,
) -> dict[str, Any]:
    if error is None and editor.refusal is not None:
        error = _error_view(editor.refusal, [])
    return {
        "editor": editor,
        "spans": {c.index: span(c.start, c.end) for c in editor.cues.cues} if editor.cues else {},
        "error": error,
        "errors": error.fields if error else {},
        "values": values,
        "notice": notice,
        **more,
    }


def _status(editor: Editor, error: FestivalError | None) -> int:
    if error is not None:
        return error.status
    return editor.refusal.status if editor.refusal else 200


def _typed(form: FormMultiDict) -> dict[str, str]:
    return {k: str(v) for k, v in form.items() if _FIELD.match(k)}


# --- staff ------------------------------------------------------------------------------


def _staff_path(slug: str, clip_id: int) -> str:
    return f"/staff/festivals/{slug}/clips/{clip_id}/captions"


async def _staff_page(
    request: AnyRequest,
    clips: ClipServices,
    slug: str,
    clip_id: int,
    *,
    error: FestivalError | None = None,
    typed: Mapping[str, str] | None = None,
    indexes: list[int] | None = None,
) -> Template:
    editor = await cue_edits.staff_editor(clips, identity_of(request), slug, clip_id)
    view = _error_view(error, indexes or []) if error else None
    return Template(
        "captions/staff.html",
        context=_context(
            editor,
            error=view,
            values=_values(editor, typed),
            notice=STAFF_DONE.get(request.query_params.get("done", "")),
            festival=editor.festival,
            action=_staff_path(slug, clip_id),
        ),
        status_code=_status(editor, error),
        headers={"Cache-Control": "no-store"},
    )


class StaffCaptionPages(Controller):
    path = "/staff/festivals/{slug:str}/clips/{clip_id:int}/captions"
    include_in_schema = False
    guards = [staff_only]
    exception_handlers = {Unauthorized: sign_in_first}

    @get("")
    async def form(
        self, request: AnyRequest, clips: CLIPS, slug: FromPath[str], clip_id: FromPath[int]
    ) -> Template:
        return await _staff_page(request, clips, slug, clip_id)

    @post("", status_code=303)
    async def save(
        self, request: AnyRequest, clips: CLIPS, slug: FromPath[str], clip_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        data, indexes = corrections_in(form)
        try:
            done = await cue_edits.correct(
                clips, identity_of(request), clip_id, data, festival=slug
            )
        except (Invalid, Conflict) as error:
            # Someone else's newer words are shown rather than the stale ones typed here,
            # so saving again cannot quietly undo their corrections.
            typed = _typed(form) if isinstance(error, Invalid) else None
            return await _staff_page(
                request, clips, slug, clip_id, error=error, typed=typed, indexes=indexes
            )
        key = "saved" if done.changed else "unchanged"
        return Redirect(f"{_staff_path(slug, clip_id)}?done={key}", status_code=303)


# --- the person in the clip ---------------------------------------------------------------


def _own_path(token: str, clip_id: int) -> str:
    return f"/consent/{token}/clips/{clip_id}/captions"


def _refused(token: str, error: FestivalError) -> Template:
    """A link or clip that does not open here, or a consent that has ended."""
    return Template(
        "captions/interviewee_problem.html",
        context={"problem": error, "base": f"/consent/{token}"},
        status_code=error.status,
        headers={**PRIVATE, **error.headers},
    )


async def _own_page(
    request: AnyRequest,
    clips: ClipServices,
    token: str,
    clip_id: int,
    *,
    error: FestivalError | None = None,
    typed: Mapping[str, str] | None = None,
    indexes: list[int] | None = None,
) -> Template:
    editor = await cue_edits.interviewee_editor(clips, token, clip_id)
    view = _error_view(error, indexes or []) if error else None
    return Template(
        "captions/interviewee.html",
        context=_context(
            editor,
            error=view,
            values=_values(editor, typed),
            notice=INTERVIEWEE_DONE.get(request.query_params.get("done", "")),
            base=f"/consent/{token}",
            action=_own_path(token, clip_id),
        ),
        status_code=_status(editor, error),
        headers=PRIVATE,
    )


class IntervieweeCaptionPages(Controller):
    path = "/consent/{token:str}/clips/{clip_id:int}/captions"
    include_in_schema = False

    @get("")
    async def form(
        self, request: AnyRequest, clips: CLIPS, token: FromPath[str], clip_id: FromPath[int]
    ) -> Template:
        try:
            await _guarded_token(request, clips.db, token)
            return await _own_page(request, clips, token, clip_id)
        except (NotFound, TooManyRequests, Conflict) as error:
            return _refused(token, error)

    @post("", status_code=303)
    async def save(
        self, request: AnyRequest, clips: CLIPS, token: FromPath[str], clip_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        data, indexes = corrections_in(form)
        try:
            await _guarded_token(request, clips.db, token)
            done = await cue_edits.interviewee_correct(clips, token, clip_id, data)
        except (NotFound, TooManyRequests) as error:
            return _refused(token, error)
        except (Invalid, Conflict) as error:
            try:
                typed = _typed(form) if isinstance(error, Invalid) else None
                return await _own_page(
                    request, clips, token, clip_id, error=error, typed=typed, indexes=indexes
                )
            except (NotFound, Conflict) as closed:  # the consent ended meanwhile
                return _refused(token, closed)
        key = "saved" if done.changed else "unchanged"
        return Redirect(f"{_own_path(token, clip_id)}?done={key}", status_code=303, headers=PRIVATE)
