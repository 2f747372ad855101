"""Phone-like test clips, made with PyAV in a few hundred milliseconds each.

Every maker writes one file at ``path`` and returns the path. The pictures are generated with
numpy: a gradient that drifts, a bar that moves and a noisy square, so the encoders have real
work and the decoders real frames. Each picture carries an orientation mark: a red square in the
top-left corner of the picture *as it should be displayed* and a blue square in the bottom-left.
For a clip with a rotation the coded frames are turned the other way round, so only a player (or
our pipeline) that applies the rotation sees the red square top-left again.

Rotation follows the old ``rotate`` tag's convention, as ``media.probe`` reports it: the number
of degrees to turn the coded picture clockwise to display it. A phone held upright records
landscape frames with rotation 90. MP4/MOV clips carry it as display-matrix side data (the
``tkhd`` matrix), which is what phones write; FFmpeg's MP4 muxer ignores a ``rotate`` tag, so
``rotate_tag_mkv`` covers the older tag in Matroska. Phone tags (GPS ``location``, Apple
make/model/creation date) are written as QuickTime ``mdta`` keys (``use_metadata_tags``), as
iPhones do, so tests can prove that nothing of them reaches a rendition.

``huge_dimensions`` is a crafted file: a tiny MJPEG AVI whose headers (AVI main header, stream
format and the JPEG frame header) are rewritten to claim a huge picture, 7000×7000 (49
megapixels) by default. FFmpeg reports that size from the headers without decoding a frame,
which is what the probe's size guard must catch. (Past about 16000×16000 FFmpeg refuses the
size itself and reports none, which the probe rejects as an unreadable size.)
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

RGB = npt.NDArray[np.uint8]

PHONE_TAGS = {
    "location": "+51.5072-000.1276+011.000/",
    "com.apple.quicktime.location.ISO6709": "+51.5072-000.1276+011.000/",
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone 15 Pro",
    "com.apple.quicktime.software": "17.5.1",
}
"""Tags a phone writes that must never reach a published file (GPS position, device)."""

ANDROID_TAGS = {
    "location": "+48.8584+002.2945/",
    "com.android.version": "14",
    "com.apple.quicktime.make": "Google",
    "com.apple.quicktime.model": "Pixel 8",
}

CREATION_TIME = "2025-06-14T09:30:15.000000Z"
APPLE_CREATION_DATE = "2025-06-14T10:30:15+0100"


def displayed_picture(index: int, width: int, height: int) -> RGB:
    """One upright picture (as displayed), different for every ``index``."""
    y = np.arange(height, dtype=np.uint16)[:, None]
    x = np.arange(width, dtype=np.uint16)[None, :]
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[..., 0] = ((x + index * 3) % 256).astype(np.uint8)
    img[..., 1] = ((y * 2 + index) % 256).astype(np.uint8)
    img[..., 2] = (((x + y) // 2 + index * 5) % 256).astype(np.uint8)
    bar = (index * 7) % max(1, width - 16)
    img[:, bar : bar + 16] = 235
    rng = np.random.default_rng(index)
    s = min(width, height) // 4
    cx, cy = width // 2 - s // 2, height // 2 - s // 2
    img[cy : cy + s, cx : cx + s] = rng.integers(0, 256, (s, s, 3), dtype=np.uint8)
    m = max(8, min(width, height) // 6)
    img[:m, :m] = (230, 20, 20)  # red: top-left when upright
    img[-m:, :m] = (20, 20, 230)  # blue: bottom-left when upright
    return img


def coded_picture(index: int, coded_width: int, coded_height: int, rotation: int) -> RGB:
    """The picture to store so that turning it ``rotation`` degrees clockwise shows it upright."""
    quarter_turns = (rotation // 90) % 4
    if quarter_turns % 2:
        upright = displayed_picture(index, coded_height, coded_width)
    else:
        upright = displayed_picture(index, coded_width, coded_height)
    # np.rot90 turns counter-clockwise: the stored frame is the upright one turned back.
    return np.ascontiguousarray(np.rot90(upright, k=quarter_turns))


def _tone(start: int, count: int, rate: int, channels: int) -> npt.NDArray[np.float32]:
    t = (np.arange(start, start + count, dtype=np.float64)) / rate
    freq = 330.0 + 110.0 * np.sin(2 * math.pi * 0.5 * t)
    wave = (0.2 * np.sin(2 * math.pi * freq * t)).astype(np.float32)
    return np.tile(wave, (channels, 1))


def _write_audio(
    out: av.container.OutputContainer,
    stream: av.AudioStream,
    seconds: float,
    rate: int,
    layout: str,
) -> None:
    channels = 1 if layout == "mono" else 2
    total = round(seconds * rate)
    chunk = 1024
    done = 0
    while done < total:
        n = min(chunk, total - done)
        frame = av.AudioFrame.from_ndarray(
            _tone(done, n, rate, channels), format="fltp", layout=layout
        )
        frame.sample_rate = rate
        frame.pts = done
        frame.time_base = Fraction(1, rate)
        out.mux(stream.encode(frame))
        done += n
    out.mux(stream.encode(None))


def write_clip(
    path: Path,
    *,
    codec: str = "libx264",
    container_format: str | None = None,
    coded_size: tuple[int, int] = (320, 180),
    rotation: int = 0,
    seconds: float = 2.0,
    fps: int = 30,
    timestamps: Sequence[float] | None = None,
    audio: bool = True,
    audio_rate: int = 48000,
    audio_layout: str = "stereo",
    tags: dict[str, str] | None = None,
    codec_tag: str | None = None,
    codec_options: dict[str, str] | None = None,
    faststart: bool = False,
) -> Path:
    """Write a clip: ``timestamps`` (seconds) make it variable frame rate."""
    width, height = coded_size
    movflags = ["use_metadata_tags"]
    if faststart:
        movflags.append("faststart")
    is_mp4 = container_format in (None, "mp4", "mov") and path.suffix in (".mp4", ".mov", ".m4v")
    options = {"movflags": "+" + "+".join(movflags)} if is_mp4 else {}
    with av.open(str(path), "w", format=container_format, options=options) as out:
        for key, value in (tags or {}).items():
            out.metadata[key] = value
        video = out.add_stream(codec, rate=fps, options=codec_options or {})
        assert isinstance(video, av.VideoStream)
        video.width = width
        video.height = height
        video.pix_fmt = "yuv420p"
        if codec_tag is not None:
            video.codec_tag = codec_tag
        if timestamps is not None:
            video.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            # set_display_rotation takes counter-clockwise degrees.
            video.set_display_rotation(-rotation)
        audio_stream = None
        if audio:
            audio_stream = out.add_stream("aac", rate=audio_rate)
            audio_stream.layout = audio_layout
            audio_stream.bit_rate = 96_000
        times = (
            timestamps if timestamps is not None else [i / fps for i in range(round(seconds * fps))]
        )
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(
                coded_picture(i, width, height, rotation), format="rgb24"
            )
            if timestamps is not None:
                frame.pts = round(t * 1000)
                frame.time_base = Fraction(1, 1000)
            else:
                frame.pts = i
            out.mux(video.encode(frame.reformat(format="yuv420p")))
        out.mux(video.encode(None))
        if audio_stream is not None:
            _write_audio(out, audio_stream, seconds, audio_rate, audio_layout)
    return path


def portrait_h264_mp4(
    path: Path, seconds: float = 2.0, rotation: int = 90, *, faststart: bool = False
) -> Path:
    """An Android-style portrait clip: coded 320×180 H.264, rotation side data, AAC, GPS tags."""
    return write_clip(
        path,
        rotation=rotation,
        seconds=seconds,
        tags={**ANDROID_TAGS, "creation_time": CREATION_TIME},
        faststart=faststart,
    )


def landscape_h264_mp4(
    path: Path, seconds: float = 2.0, *, coded_size: tuple[int, int] = (320, 180)
) -> Path:
    """A plain landscape clip without rotation or tags."""
    return write_clip(path, seconds=seconds, coded_size=coded_size)


def rotate_tag_mkv(path: Path, seconds: float = 0.5, rotation: int = 90) -> Path:
    """An older kind of file: the rotation only as a ``rotate`` tag, no display matrix.

    (FFmpeg's MP4 muxer no longer writes the tag, so this is Matroska, whose muxer keeps
    stream tags as they are.)
    """
    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        video.metadata["rotate"] = str(rotation)
        for i in range(round(seconds * 30)):
            frame = av.VideoFrame.from_ndarray(coded_picture(i, 320, 180, rotation), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame.reformat(format="yuv420p")))
        out.mux(video.encode(None))
    return path


def hevc_mov(path: Path, seconds: float = 2.0, rotation: int = 90) -> Path:
    """An iPhone-style clip: HEVC tagged ``hvc1`` in QuickTime, portrait, mono 44.1 kHz AAC."""
    return write_clip(
        path,
        codec="libx265",
        container_format="mov",
        rotation=rotation,
        seconds=seconds,
        codec_tag="hvc1",
        codec_options={"x265-params": "log-level=error"},
        audio_rate=44100,
        audio_layout="mono",
        tags={
            **PHONE_TAGS,
            "com.apple.quicktime.creationdate": APPLE_CREATION_DATE,
            "creation_time": CREATION_TIME,
        },
    )


def vfr_timestamps(seconds: float = 2.0) -> list[float]:
    """Frame times of a phone under load: bursts of 30 fps, then slower stretches, then 60 fps."""
    times: list[float] = []
    t = 0.0
    i = 0
    while t < seconds:
        times.append(round(t, 3))
        phase = (i // 10) % 3
        t += (1 / 30, 1 / 15, 1 / 60)[phase]
        i += 1
    return times


def vfr_mp4(path: Path, seconds: float = 2.0) -> Path:
    """A variable frame rate clip: frame durations of 33, 67 and 17 ms."""
    return write_clip(path, seconds=seconds, timestamps=vfr_timestamps(seconds))


def webm_recording(path: Path, seconds: float = 2.0, *, live: bool = True) -> Path:
    """A clip recorded in the browser (MediaRecorder): VP8 + Opus WebM, portrait by rotation.

    ``live`` writes it as a recorder streams it: no duration and no index in the header.
    """
    with av.open(str(path), "w", format="webm", options={"live": "1"} if live else {}) as out:
        video = out.add_stream("libvpx", rate=30)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        video.set_display_rotation(-90)
        sound = out.add_stream("libopus", rate=48000)
        sound.layout = "stereo"
        for i in range(round(seconds * 30)):
            frame = av.VideoFrame.from_ndarray(coded_picture(i, 320, 180, 90), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame.reformat(format="yuv420p")))
        out.mux(video.encode(None))
        for start in range(0, round(seconds * 48000), 960):
            chunk = av.AudioFrame.from_ndarray(
                _tone(start, 960, 48000, 2), format="fltp", layout="stereo"
            )
            chunk.sample_rate = 48000
            chunk.pts = start
            chunk.time_base = Fraction(1, 48000)
            out.mux(sound.encode(chunk))
        out.mux(sound.encode(None))
    return path


def audio_only(path: Path, seconds: float = 2.0) -> Path:
    """AAC sound in an MP4 container (a voice memo), no picture."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000)
        stream.layout = "stereo"
        _write_audio(out, stream, seconds, 48000, "stereo")
    return path


def wav_as_mp4(path: Path, seconds: float = 0.5) -> Path:
    """A WAV voice recording named like a video (a demuxer we do not allow for uploads)."""
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=48000)
        stream.layout = "mono"
        _write_audio(out, stream, seconds, 48000, "mono")
    return path


def truncated(path: Path, *, faststart: bool = False) -> Path:
    """A valid portrait clip cut in half, as an upload that stopped part-way.

    Without faststart the ``moov`` index is at the end and is lost; with faststart the index
    survives and claims media that is no longer there.
    """
    whole = path.with_name(path.name + ".whole.mp4")
    portrait_h264_mp4(whole, seconds=2.0, faststart=faststart)
    data = whole.read_bytes()
    whole.unlink()
    path.write_bytes(data[: len(data) // 2])
    return path


def text_as_mp4(path: Path) -> Path:
    path.write_text("Notes for the interview\n\nAsk about the workshop.\n" * 20, encoding="utf-8")
    return path


def zip_as_mp4(path: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("interview.txt", "not a video " * 200)
    path.write_bytes(buffer.getvalue())
    return path


def html_as_mp4(path: Path) -> Path:
    path.write_text(
        "<!DOCTYPE html>\n<html><head><title>Download</title></head>"
        "<body><p>Your video is ready.</p></body></html>\n",
        encoding="utf-8",
    )
    return path


def jpeg_as_mp4(path: Path) -> Path:
    """A photo named like a video."""
    frame = av.VideoFrame.from_ndarray(displayed_picture(0, 64, 48), format="rgb24")
    frame.save(str(path.with_suffix(".jpg")))
    path.with_suffix(".jpg").rename(path)
    return path


def huge_dimensions(path: Path, width: int = 7000, height: int = 7000) -> Path:
    """An MJPEG AVI whose headers claim ``width``×``height``; see the module doc."""
    small = 64
    write_clip(
        path,
        codec="mjpeg",
        container_format="avi",
        coded_size=(small, small),
        seconds=0.2,
        fps=10,
        audio=False,
        codec_options={"strict": "-2"},
    )
    data = bytearray(path.read_bytes())
    # AVI main header: dwWidth and dwHeight at offsets 32 and 36 of the chunk data.
    i = data.index(b"avih") + 8
    data[i + 32 : i + 40] = struct.pack("<II", width, height)
    # Stream format (BITMAPINFOHEADER): biWidth, biHeight at 4 and 8.
    i = data.index(b"strf") + 8
    data[i + 4 : i + 12] = struct.pack("<ii", width, height)
    # Every JPEG baseline frame header (SOF0): length, precision, height, width (big-endian).
    start = 0
    while (i := data.find(b"\xff\xc0", start)) >= 0:
        data[i + 5 : i + 9] = struct.pack(">HH", height, width)
        start = i + 2
    path.write_bytes(bytes(data))
    return path
