"""Probe an uploaded clip: what it is, and whether we can use it at all.

``probe(path)`` opens the file with PyAV under a few safety rules, decodes the first picture and
returns a :class:`ProbeResult`, or raises one of :mod:`media.errors` with a reason a volunteer
can read. It never raises an exception from PyAV.

Safety rules, shared with posters and renditions through :func:`open_media`:

* only a short list of demuxers (MP4/QuickTime, Matroska/WebM, AVI, MPEG-TS) may open the
  file, and only through the ``file`` protocol, so a playlist or script named ``.mp4`` cannot
  make FFmpeg read other files or the network;
* while FFmpeg looks at the streams it skips decoding pictures, so the frame size a header
  claims is checked *before* any picture of that size is decoded, and the decoders we open get
  ``max_pixels`` so a stream cannot switch to a huge size part-way;
* packets and frames read while probing are capped, and so are the frame rate and the number
  of frames a clip may have (``MAX_FRAME_RATE``, ``MAX_FRAMES``): a tiny file of near-empty
  pictures could otherwise ask for hours of decoding.

Rotation is given in degrees *clockwise* that the coded picture must be turned to be shown
upright (0, 90, 180 or 270), the convention of the old ``rotate`` tag. FFmpeg's display matrix
(``VideoFrame.rotation``) is counter-clockwise, so a phone held upright reads -90 there and 90
here.
"""

from __future__ import annotations

import codecs
import contextlib
import itertools
import math
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Final

import av
import msgspec
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from media.errors import MediaError, NotAVideo, TooLarge, Truncated

__all__ = [
    "MAX_DURATION",
    "MAX_FRAMES",
    "MAX_FRAME_RATE",
    "MAX_PIXELS",
    "MAX_SIDE",
    "ProbeResult",
    "check_frame_count",
    "check_frame_size",
    "decode_error",
    "open_media",
    "probe",
    "rotation_of",
]

MAX_SIDE: Final = 8192
MAX_PIXELS: Final = 40_000_000
MAX_DURATION: Final = 3 * 3600.0
MAX_FRAME_RATE: Final = 240
"""Pictures a second: phones film slow motion at up to 240. A tiny file claiming thousands
would cost a decode per picture, the work of a far longer clip."""
MAX_FRAMES: Final = int(MAX_DURATION * 60)
"""Pictures in a clip: 3 h at 60 fps. Bounds the decoding a file can ask of us, whatever its
stated rate and length."""
MAX_PROBE_PACKETS: Final = 600
"""Packets (of every stream) read while looking for the first picture."""
MAX_SCAN_PACKETS: Final = 2_000_000
"""Packets read to measure a file that does not state its duration (3 h of 60 fps + audio)."""

ALLOWED_DEMUXERS: Final = "mov,matroska,webm,avi,mpegts"
"""FFmpeg demuxers that may open an upload (``mov`` covers mp4, m4v, 3gp and QuickTime)."""

TRY_AGAIN = "Please upload the video again as it came from your phone's camera or gallery."
SOUND_ONLY = "This file has sound but no picture. Please upload the video file."


class ProbeResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a clip is. Sizes in pixels, times in seconds, ``rotation`` clockwise degrees."""

    container: str
    """Short name: ``mp4``, ``mov``, ``matroska``, ``webm``, ``avi`` or ``mpegts``."""
    format_name: str
    """FFmpeg's demuxer name, e.g. ``mov,mp4,m4a,3gp,3g2,mj2``."""
    video_codec: str
    audio_codec: str | None
    duration: float
    width: int
    """Width as displayed, after rotation."""
    height: int
    """Height as displayed, after rotation."""
    coded_width: int
    coded_height: int
    rotation: int
    frame_rate: float
    """Average frames per second."""
    variable_frame_rate: bool | None
    """True or False when the container's index tells cheaply, None when unknown."""
    pixel_format: str | None
    creation_time: datetime | None
    bit_rate: int | None
    size: int
    """Bytes on disk."""
    video_stream: int
    audio_stream: int | None

    @property
    def portrait(self) -> bool:
        return self.height > self.width


def _sniff(head: bytes) -> str:
    """A reason for a file FFmpeg cannot open, guessed from its first bytes."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"PK\x03\x04"):
        return (
            "This is a zip archive, not a video. "
            "Please unzip it and upload the video file that is inside."
        )
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")):
        return (
            "This is a web page saved under a video's name, not the video itself. "
            "Please upload the video file from your phone's gallery."
        )
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG", b"GIF8")) or head[4:12] in _PHOTO_BRANDS:
        return "This is a photo, not a video. Please upload the video file."
    if _looks_like_sound(head):
        return SOUND_ONLY
    if head.startswith(b"%PDF"):
        return "This is a PDF document, not a video. Please upload the video file."
    if b"\x00" not in head:
        try:
            # Incremental: the 512 bytes may end inside a character.
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            pass
        else:
            return "This is a text document, not a video. Please upload the video file."
    return "We can't read this file as a video. " + TRY_AGAIN


_PHOTO_BRANDS: Final = {b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypmsf1", b"ftypavif"}
_ISO_BOXES: Final = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_EBML_MAGIC: Final = b"\x1a\x45\xdf\xa3"


def _looks_like_video_container(head: bytes) -> bool:
    return (
        head[4:8] in _ISO_BOXES
        or head.startswith(_EBML_MAGIC)
        or (head.startswith(b"RIFF") and head[8:12] == b"AVI ")
    )


def _looks_like_sound(head: bytes) -> bool:
    return (
        head.startswith((b"ID3", b"OggS", b"fLaC", b"#!AMR", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"))
        or (head.startswith(b"RIFF") and head[8:12] == b"WAVE")
        or head[4:12] in (b"ftypM4A ", b"ftypM4B ")
    )


def _read_head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(512)


@contextlib.contextmanager
def open_media(path: str | os.PathLike[str]) -> Iterator[InputContainer]:
    """Open ``path`` for reading under the safety rules of this module.

    Raises :class:`NotAVideo` or :class:`Truncated` when FFmpeg cannot open it.
    """
    p = Path(path)
    try:
        container = av.open(
            str(p),
            "r",
            options={"skip_frame": "all"},
            metadata_errors="replace",
            container_options={
                "format_whitelist": ALLOWED_DEMUXERS,
                "protocol_whitelist": "file",
            },
        )
    except av.FFmpegError as exc:
        head = _read_head(p)
        if head[4:12] in _PHOTO_BRANDS or _looks_like_sound(head):
            raise NotAVideo(_sniff(head)) from exc
        if _looks_like_video_container(head):
            raise Truncated(
                "This video file is incomplete: the upload may have stopped before the end. "
                + TRY_AGAIN
            ) from exc
        raise NotAVideo(_sniff(head)) from exc
    try:
        yield container
    finally:
        container.close()


def decode_error(exc: Exception) -> MediaError:
    """The volunteer's reason for a PyAV error met while reading frames."""
    if isinstance(exc, MediaError):
        return exc
    if isinstance(exc, av.error.EOFError):
        return Truncated(
            "This video stops earlier than it says it should: the upload may not have "
            "finished. " + TRY_AGAIN
        )
    return NotAVideo("Part of this video is damaged and cannot be played. " + TRY_AGAIN)


def _short_container(container: InputContainer) -> str:
    name = container.format.name
    if name.startswith("mov,"):
        brand = container.metadata.get("major_brand", "").strip().lower()
        return "mov" if brand == "qt" else "mp4"
    if name.startswith("matroska"):
        doctype = container.metadata.get("doctype", "")
        if doctype == "webm" or all(
            s.codec_context is None or s.codec_context.name in _WEBM_CODECS
            for s in container.streams
        ):
            return "webm"
        return "matroska"
    return name.split(",")[0]


_WEBM_CODECS: Final = {"vp8", "vp9", "av1", "opus", "vorbis", "webvtt"}


def _video_stream(container: InputContainer) -> VideoStream | None:
    for stream in container.streams.video:
        if stream.disposition & av.stream.Disposition.attached_pic:
            continue  # cover art in a music file is not a video
        return stream
    return None


def _clockwise(counter_clockwise: float) -> int:
    if not math.isfinite(counter_clockwise):
        return 0
    return (round(-counter_clockwise / 90) * 90) % 360


def _tag_rotation(stream: VideoStream) -> int:
    value = next((v for k, v in stream.metadata.items() if k.lower() == "rotate"), None)
    if not value:
        return 0
    try:
        return (round(float(value) / 90) * 90) % 360
    except ValueError:
        return 0


def rotation_of(frame: VideoFrame, stream: VideoStream) -> int:
    """Clockwise degrees to show ``frame`` upright: its display matrix, else the ``rotate`` tag."""
    if frame.rotation:
        return _clockwise(frame.rotation)
    return _tag_rotation(stream)


def check_frame_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise NotAVideo("We could not read the picture size of this video. " + TRY_AGAIN)
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise TooLarge(
            f"The picture of this video is {width}×{height} pixels, larger than we can handle "
            f"(at most {MAX_SIDE} pixels on a side and {MAX_PIXELS // 1_000_000} megapixels). "
            "Please record or export it at 4K or lower."
        )


def check_frame_count(frame_rate: float, frames: int) -> None:
    if frame_rate > MAX_FRAME_RATE:
        raise TooLarge(
            f"This video has {round(frame_rate)} pictures a second; we can take at most "
            f"{MAX_FRAME_RATE}. Please export it at a usual frame rate, such as 30 or 60."
        )
    if frames > MAX_FRAMES:
        raise TooLarge(
            "This video has more frames than we can handle. Please upload a shorter clip."
        )


def _parse_time(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year < 1971:  # unset clocks write 1904 or 1970
        return None
    return parsed


def _creation_time(container: InputContainer, video: VideoStream) -> datetime | None:
    tags = (container.metadata, video.metadata)
    for key in ("com.apple.quicktime.creationdate", "creation_time", "date"):
        for tag_set in tags:
            if key in tag_set and (parsed := _parse_time(tag_set[key])) is not None:
                return parsed
    return None


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _stated_duration(container: InputContainer, video: VideoStream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    seconds = _seconds(video.duration, video.time_base)
    return seconds if seconds and seconds > 0 else None


def _scan_duration(container: InputContainer, video: VideoStream) -> float:
    """Read every packet (no decoding) to find where a file without a stated duration ends."""
    end = 0.0
    for count, packet in enumerate(container.demux(video)):
        if count > MAX_SCAN_PACKETS:
            raise TooLarge(
                "This video has more frames than we can handle. Please upload a shorter clip."
            )
        if packet.pts is None or packet.time_base is None:
            continue
        end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    start = _seconds(video.start_time, video.time_base) or 0.0
    return max(0.0, end - start)


def _index_says_truncated(container: InputContainer, size: int) -> bool | None:
    """True when the index points past the end of the file, None without an index."""
    seen = False
    for stream in container.streams:
        entries = stream.index_entries
        n = len(entries)
        if n == 0:
            continue
        seen = True
        for entry in entries[max(0, n - 16) :]:
            if entry.pos + entry.size > size:
                return True
    return False if seen else None


def _tail_is_missing(container: InputContainer, video: VideoStream, duration: float) -> bool:
    """Without an index: seek near the stated end and check that packets are there."""
    target = max(0.0, duration - 3.0)
    try:
        container.seek(int(target * av.time_base), backward=True)
    except av.FFmpegError:
        return True
    last = 0.0
    for count, packet in enumerate(container.demux(video)):
        if count > MAX_PROBE_PACKETS:
            break
        if packet.pts is not None and packet.time_base is not None:
            last = max(last, float(packet.pts * packet.time_base))
    start = _seconds(video.start_time, video.time_base) or 0.0
    return last - start < duration - max(5.0, duration * 0.1)


def _variable_rate(video: VideoStream) -> bool | None:
    entries = video.index_entries
    n = min(len(entries), 600)
    if n < 8:
        return None
    stamps = sorted(entries[i].timestamp for i in range(n))
    deltas = [b - a for a, b in itertools.pairwise(stamps) if b > a]
    if not deltas:
        return None
    return max(deltas) > min(deltas) * 1.1 + 1


def first_frame(container: InputContainer, video: VideoStream) -> VideoFrame:
    """Decode the first picture of ``video``, reading at most ``MAX_PROBE_PACKETS`` packets."""
    video.codec_context.options = {"max_pixels": str(MAX_PIXELS)}
    errors = 0
    count = 0
    for packet in container.demux(video):
        count += 1
        if count > MAX_PROBE_PACKETS or errors > 8:
            raise NotAVideo(
                "We could not find a picture we can play at the start of this video: the file "
                "may be damaged. " + TRY_AGAIN
            )
        try:
            frames = video.decode(packet)
        except av.FFmpegError:
            errors += 1
            continue
        if frames:
            return frames[0]
    raise Truncated(
        "This video ends before its first picture: the upload may not have finished. " + TRY_AGAIN
    )


def probe(path: str | os.PathLike[str], *, max_duration: float = MAX_DURATION) -> ProbeResult:
    """Describe the clip at ``path`` or raise a :class:`~media.errors.MediaError`.

    ``max_duration`` is in seconds. Missing files raise ``FileNotFoundError`` (a storage
    problem, not the volunteer's).
    """
    p = Path(path)
    size = p.stat().st_size
    if size == 0:
        raise NotAVideo("This file is empty. " + TRY_AGAIN)
    head = _read_head(p)
    if head[4:12] in _PHOTO_BRANDS:
        raise NotAVideo(_sniff(head))
    with open_media(p) as container:
        try:
            return _probe_open(container, size, max_duration)
        except av.FFmpegError as exc:
            raise decode_error(exc) from exc


def _probe_open(container: InputContainer, size: int, max_duration: float) -> ProbeResult:
    video = _video_stream(container)
    audio = container.streams.audio[0] if container.streams.audio else None
    if video is None:
        if audio is not None:
            raise NotAVideo(SOUND_ONLY)
        raise NotAVideo("This file has no picture or sound we can play. " + TRY_AGAIN)
    if video.codec_context is None:
        raise NotAVideo(
            "This video uses a kind of picture encoding we cannot play. Please upload it as "
            "an MP4 or MOV file, as your phone saves it."
        )
    coded_width, coded_height = video.codec_context.width, video.codec_context.height
    check_frame_size(coded_width, coded_height)

    duration = _stated_duration(container, video)
    if duration is not None and duration > max_duration:
        raise TooLarge(_too_long(duration, max_duration))

    if duration is not None:
        cut = _index_says_truncated(container, size)
        if cut is None:
            cut = _tail_is_missing(container, video, duration)
            container.seek(0)
        if cut:
            raise Truncated(
                "This video stops earlier than it says it should: the upload may not have "
                "finished. " + TRY_AGAIN
            )

    frame = first_frame(container, video)
    check_frame_size(frame.width, frame.height)
    rotation = rotation_of(frame, video)
    pixel_format = frame.format.name

    if duration is None:
        container.seek(0)
        duration = _scan_duration(container, video)
        if duration <= 0:
            raise NotAVideo("This looks like a single picture, not a video. " + TRY_AGAIN)
        if duration > max_duration:
            raise TooLarge(_too_long(duration, max_duration))

    rate = video.average_rate or video.guessed_rate or video.base_rate
    frame_rate = float(rate) if rate else 0.0
    if frame_rate <= 0 and video.frames > 0:
        frame_rate = video.frames / duration
    check_frame_count(frame_rate, max(video.frames, round(duration * frame_rate)))
    width, height = (
        (coded_height, coded_width) if rotation in (90, 270) else (coded_width, coded_height)
    )
    bit_rate = container.bit_rate or None
    if not bit_rate and duration > 0:
        bit_rate = round(size * 8 / duration)
    return ProbeResult(
        container=_short_container(container),
        format_name=container.format.name,
        video_codec=video.codec_context.name,
        audio_codec=audio.codec_context.name if audio and audio.codec_context else None,
        duration=round(duration, 3),
        width=width,
        height=height,
        coded_width=coded_width,
        coded_height=coded_height,
        rotation=rotation,
        frame_rate=round(frame_rate, 3),
        variable_frame_rate=_variable_rate(video),
        pixel_format=pixel_format,
        creation_time=_creation_time(container, video),
        bit_rate=bit_rate,
        size=size,
        video_stream=video.index,
        audio_stream=audio.index if audio is not None else None,
    )


def _too_long(duration: float, limit: float) -> str:
    return (
        f"This clip is {_human_duration(duration)} long; clips can be at most "
        f"{_human_duration(limit)}. Please trim it and upload it again."
    )


def _human_duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)
