"""Poster and thumbnail JPEGs for a clip, upright and without any metadata.

The frame is taken about one second in (10% in for clips under ten seconds, so a very short
clip does not show its first, often blurred, frame), scaled by swscale while still in its coded
orientation, then turned upright with Pillow. The Pillow image is built from the pixel array
alone and saved without ``exif``, ICC profile or comments, so nothing of the phone's metadata
(GPS, device, time) can reach a poster. Each file is written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import av
import msgspec
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.reformatter import Interpolation
from av.video.stream import VideoStream
from PIL import Image

from media.errors import MediaError, NotAVideo
from media.probe import MAX_PIXELS, ProbeResult, decode_error, open_media, probe, rotation_of
from media.renditions import atomic_output

__all__ = ["POSTER_SIDE", "THUMB_SIDE", "PosterResult", "make_poster", "poster_time"]

POSTER_SIDE: Final = 1280
THUMB_SIDE: Final = 320
JPEG_QUALITY: Final = 85
MAX_POSTER_FRAMES: Final = 1200
"""Frames decoded after a seek to reach the wanted time (40 s of 30 fps, a very long GOP)."""

_TRANSPOSE: Final = {
    90: Image.Transpose.ROTATE_270,  # Pillow turns counter-clockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


class PosterResult(msgspec.Struct, frozen=True, kw_only=True):
    poster_width: int
    poster_height: int
    thumb_width: int
    thumb_height: int
    poster_size: int
    """Bytes on disk."""
    thumb_size: int
    at_seconds: float
    """Time of the frame used, from the start of the clip."""


def poster_time(duration: float) -> float:
    """One second in, or 10% in for clips shorter than ten seconds."""
    return min(1.0, duration * 0.1)


def _fit(width: int, height: int, side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _frame_at(
    container: InputContainer, video: VideoStream, target: float
) -> tuple[VideoFrame, float]:
    """The first frame at or after ``target`` seconds (the last one if the clip ends first),
    and its time from the start of the clip."""
    video.codec_context.options = {"max_pixels": str(MAX_PIXELS)}
    video.thread_type = "AUTO"
    time_base = video.time_base
    start = video.start_time or 0
    if target > 0 and time_base:
        try:
            container.seek(start + int(target / time_base), stream=video, backward=True)
        except av.FFmpegError:
            container.seek(0)
    rate = float(video.average_rate or 30)
    tolerance = 0.5 / rate if rate > 0 else 0.0
    start_s = float(start * time_base) if time_base else 0.0
    last: VideoFrame | None = None
    decoded = 0
    errors = 0
    for packet in container.demux(video):
        try:
            frames = video.decode(packet)
        except av.FFmpegError:
            errors += 1
            if errors > 8:
                raise
            continue
        for frame in frames:
            decoded += 1
            last = frame
            if frame.time is None or frame.time - start_s >= target - tolerance:
                return frame, (frame.time - start_s if frame.time is not None else target)
        if decoded > MAX_POSTER_FRAMES:
            break
    if last is None:
        raise NotAVideo("We could not find a picture in this video for its poster.")
    return last, (last.time - start_s if last.time is not None else target)


def _write_jpeg(image: Image.Image, dst: Path) -> int:
    with atomic_output(dst) as tmp, tmp.open("wb") as fh:
        image.save(fh, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return dst.stat().st_size


def make_poster(
    path: str | os.PathLike[str],
    poster_out: str | os.PathLike[str],
    thumb_out: str | os.PathLike[str],
    *,
    at_seconds: float | None = None,
    probed: ProbeResult | None = None,
) -> PosterResult:
    """Write the poster (≤ 1280 px long side) and thumbnail (≤ 320 px) JPEGs of ``path``."""
    info = probed if probed is not None else probe(path)
    target = poster_time(info.duration) if at_seconds is None else at_seconds
    target = max(0.0, min(target, info.duration))
    try:
        with open_media(path) as container:
            video = next(s for s in container.streams.video if s.index == info.video_stream)
            frame, time = _frame_at(container, video, target)
            rotation = rotation_of(frame, video)
            width, height = _fit(frame.width, frame.height, POSTER_SIDE)
            rgb = frame.reformat(
                width=width, height=height, format="rgb24", interpolation=Interpolation.AREA
            ).to_ndarray()
    except MediaError:
        raise
    except (av.FFmpegError, StopIteration) as exc:
        raise decode_error(exc) from exc

    poster = Image.fromarray(rgb, mode="RGB")
    if rotation in _TRANSPOSE:
        poster = poster.transpose(_TRANSPOSE[rotation])
    thumb = poster.resize(
        _fit(poster.width, poster.height, THUMB_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0
    )
    poster_size = _write_jpeg(poster, Path(poster_out))
    try:
        thumb_size = _write_jpeg(thumb, Path(thumb_out))
    except BaseException:
        Path(poster_out).unlink(missing_ok=True)
        raise
    return PosterResult(
        poster_width=poster.width,
        poster_height=poster.height,
        thumb_width=thumb.width,
        thumb_height=thumb.height,
        poster_size=poster_size,
        thumb_size=thumb_size,
        at_seconds=round(time, 3),
    )
