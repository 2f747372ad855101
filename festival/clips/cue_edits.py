"""Correcting the words of a clip's captions. The times stay exactly as they are.

Staff, the volunteer who filmed the clip and the person in it (through their private
link) may fix what the captions say: a misheard name, a word the captioner guessed.
Captions are numbered from 1 in time order, as :func:`media.captions.to_vtt` numbers
them in its messages.

People see and write **plain words**. The stored WebVTT may hold markup (a speaker's
``<v Sam>`` tag, italics); a cue keeps its speaker tag when its words are corrected, and
what the person writes is escaped, so ``Tom & Jerry <3`` reads back as written rather
than being taken for markup. Cues nobody changed are written back byte for byte.

Every correction goes through :func:`festival.clips.service.save_captions`, the same
gate as an uploaded captions file (the clip's length, its state, a withdrawal), which
also brings the search index up to date. The audit log records who corrected which
caption numbers, never the words.

``version`` is a short hash of the stored captions. A client that sends it back with
its corrections is refused (409) if someone else saved in between, rather than having
its caption numbers land on text it never saw.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

from festival.accounts.schemas import Identity
from festival.clips import queries as clip_queries
from festival.clips import service as clip_service
from festival.clips.schemas import ClipRow
from festival.clips.service import ClipServices
from festival.consent import queries as consent_queries
from festival.consent import service as consent_service
from festival.consent.schemas import Review
from festival.db.engine import Database
from festival.errors import Conflict, FieldError, Invalid, NotFound
from festival.programme import service as programme
from festival.programme.schemas import Festival
from media import captions as captions_tools
from media.errors import MediaError

#: The most characters one caption may hold: two lines on a phone is about 80, so this
#: is generous, and still keeps a caption a caption rather than a paragraph.
MAX_CUE_TEXT = 500
CORRECTED = "captions-corrected"
ENDED = ("withdrawn", "expired")
_VOICE_TAG = re.compile(r"^\s*(<v(?:\.[\w-]+)*\s+[^>]+>)")
_VOICE_NAME = re.compile(r"^<v(?:\.[\w-]+)*\s+([^>]+)>$")
_TAG = re.compile(r"<[^>]*>")
_FIX = "Correct the captions named and send them again. Only the words can change here."


class CueText(msgspec.Struct):
    """One caption as people edit it: its number, its times and its words."""

    index: int
    start: float
    end: float
    #: The words as plain text, markup taken out; lines are separated by ``\n``.
    text: str
    #: Who speaks, from a WebVTT voice tag; kept when the words change.
    speaker: str | None = None


class Cues(msgspec.Struct):
    """A clip's captions for correcting."""

    clip_id: int
    #: Send back with corrections to be told if someone else saved in between.
    version: str
    cues: list[CueText]
    #: After a correction: the numbers of the captions whose words changed.
    changed: list[int] = []


class CueCorrection(msgspec.Struct, forbid_unknown_fields=True):
    index: int
    text: str


class CueCorrections(msgspec.Struct, forbid_unknown_fields=True):
    """New words for some captions, by number. Unchanged words may be sent; they are
    left alone."""

    corrections: list[CueCorrection]
    version: str | None = None


# --- plain words and WebVTT cue text ------------------------------------------------------


def words_of(raw: str) -> str:
    """A cue's WebVTT text as the plain words a person reads, line by line."""
    lines = (html.unescape(_TAG.sub("", line)).strip() for line in raw.split("\n"))
    return "\n".join(line for line in lines if line)


def speaker_of(raw: str) -> str | None:
    match = _VOICE_TAG.match(raw)
    if match is None:
        return None
    name = _VOICE_NAME.match(match.group(1))
    return name.group(1).strip() if name else None


def tidy(text: str) -> str:
    """What a person typed, as lines of words: blank lines cannot be in a caption, and
    spaces at either end of a line mean nothing."""
    lines = (line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return "\n".join(" ".join(line.split()) for line in lines if line)


def _escaped(words: str) -> str:
    return words.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _with_words(raw: str, words: str) -> str:
    """``raw`` cue text with new words, keeping its speaker's voice tag."""
    voice = _VOICE_TAG.match(raw)
    return (voice.group(1) if voice else "") + _escaped(words)


def _problem(index: int, words: str) -> str | None:
    """Why ``words`` cannot be caption ``index``, or None if they can."""
    if not words:
        return f"Caption {index} has no words. A caption cannot be empty."
    if "-->" in words:
        return f"Caption {index} contains “-->”, which captions cannot contain."
    if len(words) > MAX_CUE_TEXT:
        return (
            f"Caption {index} is {len(words)} characters long. "
            f"A caption can have at most {MAX_CUE_TEXT}."
        )
    if any(unicodedata.category(c) == "Cc" and c != "\n" for c in words):
        return f"Caption {index} contains characters that are not text."
    return None


def version_of(vtt: str) -> str:
    return hashlib.sha256(vtt.encode()).hexdigest()[:16]


def _view(clip_id: int, vtt: str, changed: Sequence[int] = ()) -> Cues:
    return Cues(
        clip_id=clip_id,
        version=version_of(vtt),
        cues=[
            CueText(
                index=number,
                start=cue.start,
                end=cue.end,
                text=words_of(cue.text),
                speaker=speaker_of(cue.text),
            )
            for number, cue in enumerate(captions_tools.cues(vtt), start=1)
        ],
        changed=list(changed),
    )


def corrected(
    cues: Sequence[captions_tools.Cue], corrections: Sequence[CueCorrection]
) -> tuple[list[captions_tools.Cue], list[int]]:
    """``cues`` with the corrections applied, and the numbers of those that changed.

    Raises :class:`Invalid` naming every correction that cannot be applied; then nothing
    is applied.
    """
    errors: list[FieldError] = []
    new = list(cues)
    changed: list[int] = []
    seen: set[int] = set()
    for position, item in enumerate(corrections):
        where = f"corrections[{position}]"
        if not 1 <= item.index <= len(cues):
            errors.append(
                FieldError(
                    f"{where}.index",
                    f"There is no caption {item.index}. This clip's captions are numbered "
                    f"1 to {len(cues)}.",
                )
            )
            continue
        if item.index in seen:
            errors.append(FieldError(f"{where}.index", f"Caption {item.index} is corrected twice."))
            continue
        seen.add(item.index)
        cue = cues[item.index - 1]
        words = tidy(item.text)
        if words == words_of(cue.text):
            continue  # unchanged: keep its markup exactly as it was
        problem = _problem(item.index, words)
        if problem:
            errors.append(FieldError(f"{where}.text", problem))
            continue
        new[item.index - 1] = captions_tools.Cue(
            start=cue.start, end=cue.end, text=_with_words(cue.text, words)
        )
        changed.append(item.index)
    if errors:
        raise Invalid(" ".join(e.message for e in errors), fix=_FIX, errors=errors)
    return new, sorted(changed)


# --- reading and saving ---------------------------------------------------------------------


def _no_captions(clip_id: int) -> Conflict:
    return Conflict(
        f"Clip {clip_id} has no captions yet, so there are no words to correct.",
        fix="Add captions first (PUT /api/v1/clips/{id}/captions with WebVTT or SRT), "
        "then correct their words here.",
    )


def _withdrawn() -> Conflict:
    return Conflict(
        "Consent for this clip was withdrawn and its files deleted.",
        fix="There is nothing to caption any more.",
    )


async def stored_captions(services: ClipServices, clip: ClipRow) -> str | None:
    """The clip's stored WebVTT text, or None if it has none."""
    if not clip.captions_key:
        return None
    try:
        data = b"".join([piece async for piece in services.store.read_range(clip.captions_key)])
    except FileNotFoundError:
        return None
    return data.decode("utf-8")


async def _captions(services: ClipServices, clip: ClipRow) -> str:
    if clip.withdrawn_at is not None:
        raise _withdrawn()
    vtt = await stored_captions(services, clip)
    if vtt is None:
        raise _no_captions(clip.id)
    return vtt


async def _row(db: Database, clip_id: int) -> ClipRow:
    async with db.read() as conn:
        clip = await clip_queries.clip_by_id(conn, clip_id)
    if clip is None:
        raise NotFound(f"There is no clip {clip_id}.")
    return clip


async def _apply(
    services: ClipServices,
    clip: ClipRow,
    data: CueCorrections,
    *,
    actor: str,
    consent_id: int | None = None,
) -> Cues:
    vtt = await _captions(services, clip)
    if data.version is not None and data.version != version_of(vtt):
        raise Conflict(
            "The captions were changed by someone else after you opened them.",
            fix="Load the captions again and make your corrections on the newest words.",
        )
    try:
        found = captions_tools.cues(vtt)
    except MediaError as error:  # stored by an older version, say: say so, change nothing
        raise Conflict(
            f"The stored captions cannot be read for editing: {error.reason}",
            fix="Upload the captions again as a file, then correct them here.",
        ) from None
    new, changed = corrected(found, data.corrections)
    if not changed:
        return _view(clip.id, vtt)
    try:
        text = captions_tools.to_vtt(new)
    except MediaError as error:
        raise Invalid.field("corrections", error.reason, fix=_FIX) from None
    await clip_service.save_captions(services, clip.id, text.encode())
    async with services.db.write() as conn:
        await consent_queries.record(
            conn,
            actor=actor,
            action=CORRECTED,
            festival_id=clip.festival_id,
            clip_id=clip.id,
            consent_id=consent_id,
            detail={"cues": changed},
            at=datetime.now(UTC),
        )
    return _view(clip.id, text, changed)


# --- for staff and the volunteer who filmed it ----------------------------------------------


async def _own_clip(
    services: ClipServices, identity: Identity, clip_id: int, festival: str | None
) -> ClipRow:
    # The same rule as every clip route: staff, or the volunteer who filmed it; anyone
    # else is told there is no such clip. A page under a festival's address shows only
    # that festival's clips.
    seen = await clip_service.get_clip(services.db, identity, clip_id)
    if (
        festival is not None
        and (await programme.get_festival(services.db, festival)).id != seen.festival_id
    ):
        raise NotFound(f"{festival} has no clip {clip_id}.")
    return await _row(services.db, clip_id)


async def cues_for(services: ClipServices, identity: Identity, clip_id: int) -> Cues:
    clip = await _own_clip(services, identity, clip_id, None)
    return _view(clip.id, await _captions(services, clip))


async def correct(
    services: ClipServices,
    identity: Identity,
    clip_id: int,
    data: CueCorrections,
    *,
    festival: str | None = None,
) -> Cues:
    clip = await _own_clip(services, identity, clip_id, festival)
    return await _apply(services, clip, data, actor=clip_service.owner_of(identity))


# --- for the person in it, through their private link ----------------------------------------


async def _interviewee_clip(
    services: ClipServices, token: str, clip_id: int
) -> tuple[ClipRow, Review]:
    """The clip, if ``token`` is a live consent linked to it, and what the link shows."""
    review = await consent_service.review(services.db, token)  # 404 for an unknown link
    if review.consent.state in ENDED:
        raise Conflict(
            "Your consent has ended, so the captions cannot be changed through this link.",
            fix="If you would like to be interviewed again, ask a festival volunteer.",
        )
    if clip_id not in review.consent.clip_ids:
        raise NotFound("There is no clip of yours with that number.")
    return await _row(services.db, clip_id), review


async def interviewee_cues(services: ClipServices, token: str, clip_id: int) -> Cues:
    clip, _ = await _interviewee_clip(services, token, clip_id)
    return _view(clip.id, await _captions(services, clip))


async def interviewee_correct(
    services: ClipServices, token: str, clip_id: int, data: CueCorrections
) -> Cues:
    clip, review = await _interviewee_clip(services, token, clip_id)
    return await _apply(services, clip, data, actor="interviewee", consent_id=review.consent.id)


# --- what the correction pages show --------------------------------------------------------


class Editor(msgspec.Struct):
    """A clip's player and its captions, for a page that corrects them."""

    clip_id: int
    title: str
    video_url: str | None
    poster_url: str | None
    captions_url: str | None
    #: None when there is nothing to correct; ``refusal`` then says why.
    cues: Cues | None
    refusal: Conflict | None = None
    #: The festival whose staff pages show it (staff only).
    festival: Festival | None = None


async def _editor(
    services: ClipServices,
    clip: ClipRow,
    title: str,
    urls: tuple[str | None, str | None, str | None],
) -> Editor:
    try:
        cues: Cues | None = _view(clip.id, await _captions(services, clip))
        refusal = None
    except Conflict as error:
        cues, refusal = None, error
    return Editor(
        clip_id=clip.id,
        title=title,
        video_url=urls[0],
        poster_url=urls[1],
        captions_url=urls[2],
        cues=cues,
        refusal=refusal,
    )


async def staff_editor(
    services: ClipServices, identity: Identity, festival: str, clip_id: int
) -> Editor:
    clip = await _own_clip(services, identity, clip_id, festival)
    seen = clip_service.view(clip)
    editor = await _editor(
        services,
        clip,
        clip.title or clip.original_filename or f"Clip {clip.id}",
        (seen.video_url, seen.poster_url, seen.captions_url),
    )
    editor.festival = await programme.get_festival(services.db, festival)
    return editor


async def interviewee_editor(services: ClipServices, token: str, clip_id: int) -> Editor:
    clip, review = await _interviewee_clip(services, token, clip_id)
    shown = next(c for c in review.clips if c.id == clip_id)
    return await _editor(
        services,
        clip,
        shown.title or "Your interview",
        (shown.video_url, shown.poster_url, shown.captions_url),
    )
