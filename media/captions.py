"""Captions: accept WebVTT or SRT, store WebVTT, with reasons a volunteer can act on.

``parse_captions(data, duration=...)`` is the gate for uploaded captions: it decodes the bytes,
detects the format, checks every cue's timing itself (to name the line that is wrong), then lets
webvtt-py parse and validate the whole file (strictly for WebVTT) and writes normalised WebVTT:
only the cues, sorted by start time, without comments, styles or regions (a ``NOTE`` block is
where a private remark would hide). Cue text is kept as written, markup included.

``cues``/``to_vtt`` are the editing pair: ``to_vtt(cues(text))`` gives back the same WebVTT for
anything ``to_vtt`` or ``parse_captions`` wrote. ``transcript`` gives readable paragraphs.
"""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Iterable
from typing import Final

import msgspec
import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from media.errors import BadCaptions

__all__ = [
    "DURATION_TOLERANCE",
    "MAX_CAPTIONS_BYTES",
    "Cue",
    "cues",
    "parse_captions",
    "to_vtt",
    "transcript",
]

MAX_CAPTIONS_BYTES: Final = 1024 * 1024
DURATION_TOLERANCE: Final = 0.5
PARAGRAPH_GAP: Final = 2.0
"""Seconds of silence between cues that start a new paragraph of the transcript."""

ACCEPTED = "We accept WebVTT (.vtt, starting with the line WEBVTT) and SubRip (.srt) captions."

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})"
_TIMING_LINE = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s|$)")
_SRT_START = re.compile(r"^\s*\d+\s*\r?\n\s*(?:\d+:)?\d{1,2}:\d{1,2}[.,]\d+\s*-->")
_VOICE = re.compile(r"<v(?:\.[\w-]+)*\s+([^>]+)>")


class Cue(msgspec.Struct, frozen=True):
    """One caption: times in seconds (millisecond precision), text as WebVTT cue text."""

    start: float
    end: float
    text: str


def _decode(data: bytes) -> str:
    if len(data) > MAX_CAPTIONS_BYTES:
        raise BadCaptions(
            f"This captions file is {len(data) / 1_048_576:.1f} MB; captions can be at most 1 MB. "
            "Please check it is the right file."
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise BadCaptions(
                "This captions file is not readable text. Please save it as UTF-8 and upload it "
                "again."
            ) from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadCaptions(
                f"This captions file is not saved as UTF-8 text (at byte {exc.start}). Please "
                "save it with UTF-8 encoding and upload it again."
            ) from None
    if "\x00" in text:
        raise BadCaptions("This file is not captions. " + ACCEPTED)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _detect(text: str) -> str:
    stripped = text.lstrip()
    if stripped.startswith("WEBVTT") and (len(stripped) == 6 or stripped[6] in " \t\n"):
        return "vtt"
    if _SRT_START.match(stripped):
        return "srt"
    return ""


def _clock(seconds: float) -> str:
    total = round(seconds * 1000)
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _seconds(groups: tuple[str | None, ...]) -> float:
    hours, minutes, secs, fraction = groups
    if int(minutes or 0) > 59 or int(secs or 0) > 59:
        raise ValueError("minutes or seconds over 59")
    millis = int((fraction or "0").ljust(3, "0"))
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(secs or 0) + millis / 1000


def _check_timings(text: str, duration: float | None) -> list[tuple[int, float, float]]:
    """(line number, start, end) of every cue, checking each one; reasons name the line."""
    found: list[tuple[int, float, float]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if "-->" not in line:
            continue
        match = _TIMING_LINE.match(line)
        try:
            if match is None:
                raise ValueError(line)
            start = _seconds(match.groups()[:4])
            end = _seconds(match.groups()[4:])
        except ValueError:
            raise BadCaptions(
                f"Line {number} has a cue time we can't read: {line.strip()[:80]!r}. "
                "Times look like 00:01:02.500 --> 00:01:04.000."
            ) from None
        if end <= start:
            raise BadCaptions(
                f"The cue on line {number} ends ({_clock(end)}) before it starts "
                f"({_clock(start)}). Please fix its times."
            )
        if duration is not None and end > duration + DURATION_TOLERANCE:
            raise BadCaptions(
                f"The cue on line {number} ends at {_clock(end)}, after the end of the clip "
                f"({_clock(duration)}). Are these the captions for this clip?"
            )
        found.append((number, start, end))
    return found


def _parse_vtt(text: str) -> webvtt.WebVTT:
    try:
        return webvtt.from_string(text.lstrip(), strict=True)
    except (MalformedFileError, MalformedCaptionError) as exc:
        raise BadCaptions(
            "These WebVTT captions are not laid out correctly: each cue needs an empty line "
            f"before it and its times on one line ({str(exc)[:120]})."
        ) from None


def _parse_srt(text: str) -> webvtt.WebVTT:
    try:
        return webvtt.from_buffer([text.lstrip()], format="srt")
    except (MalformedFileError, MalformedCaptionError) as exc:
        raise BadCaptions(f"These SubRip captions are not valid: {exc}. " + ACCEPTED) from None


def _to_cues(parsed: webvtt.WebVTT) -> list[Cue]:
    return [
        Cue(
            start=caption.start_time.in_milliseconds() / 1000,
            end=caption.end_time.in_milliseconds() / 1000,
            text=caption.raw_text,
        )
        for caption in parsed.captions
    ]


def parse_captions(data: bytes, *, duration: float | None) -> str:
    """Validate uploaded WebVTT or SRT ``data`` and return it as normalised WebVTT.

    ``duration`` is the clip's length in seconds (None when unknown): cues may end up to
    ``DURATION_TOLERANCE`` after it. Raises :class:`~media.errors.BadCaptions`.
    """
    text = _decode(data)
    if not text.strip():
        raise BadCaptions("This captions file is empty.")
    kind = _detect(text)
    if not kind:
        raise BadCaptions("This file does not look like captions. " + ACCEPTED)
    timings = _check_timings(text, duration)
    if not timings:
        raise BadCaptions("This captions file has no captions in it, only a header.")
    parsed = _parse_vtt(text) if kind == "vtt" else _parse_srt(text)
    found = _to_cues(parsed)
    if len(found) < len(timings):
        read = {(c.start, c.end) for c in found}
        line = next((n for n, s, e in timings if (s, e) not in read), timings[-1][0])
        raise BadCaptions(
            f"The cue on line {line} could not be read: is its text missing, or is it not "
            "separated from the one before by an empty line?"
        )
    found.sort(key=lambda cue: (cue.start, cue.end))
    return to_vtt(found)


def cues(vtt_text: str) -> list[Cue]:
    """The cues of stored WebVTT text, in order."""
    return _to_cues(_parse_vtt(vtt_text))


def to_vtt(items: Iterable[Cue]) -> str:
    """WebVTT text for ``items``; raises :class:`~media.errors.BadCaptions` for a bad cue."""
    captions = []
    for number, cue in enumerate(items, start=1):
        if not (0 <= cue.start < cue.end):
            raise BadCaptions(f"Caption {number} ends before it starts. Please fix its times.")
        lines = cue.text.split("\n")
        if not cue.text.strip() or any(not line.strip() for line in lines):
            raise BadCaptions(f"Caption {number} has an empty line; please remove it.")
        if "-->" in cue.text:
            raise BadCaptions(f"Caption {number} contains '-->', which captions cannot contain.")
        captions.append(webvtt.Caption(_clock(cue.start), _clock(cue.end), lines))
    try:
        return webvtt.WebVTT(captions=captions).content
    except ValueError as exc:
        raise BadCaptions(f"These captions cannot be written: {exc}") from None


def _plain(raw_text: str) -> str:
    caption = webvtt.Caption(text=raw_text)
    return " ".join(html.unescape(caption.text).split())


def transcript(vtt_text: str) -> list[str]:
    """Cue texts as paragraphs: tags stripped, a new paragraph after a pause or a new voice."""
    paragraphs: list[str] = []
    current: list[str] = []
    last_end: float | None = None
    last_voice: str | None = None
    for cue in cues(vtt_text):
        voice_match = _VOICE.search(cue.text)
        voice = voice_match.group(1).strip() if voice_match else last_voice
        words = _plain(cue.text)
        new_paragraph = (last_end is not None and cue.start - last_end > PARAGRAPH_GAP) or (
            voice != last_voice
        )
        if current and new_paragraph:
            paragraphs.append(" ".join(current))
            current = []
        if words and (not current or current[-1] != words):
            current.append(words)
        last_end = cue.end
        last_voice = voice
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs
