"""The web rendition: an H.264/AAC MP4 every browser plays, upright, 720p or less, no metadata.

``make_web_rendition(src, dst)`` streams the source through PyAV, frame by frame:

    decode ─► buffer ─► fps (constant rate) ─► scale ─► transpose/flip (upright) ─► setsar
        ─► format=yuv420p ─► libx264 ─┐
    decode ─► resample (48 kHz stereo fltp) ─► aac 128k ──────────────────────────────────┴─► mp4

Decisions:

* **720p or less** means the *shorter* displayed side is at most ``max_height`` (720), so a
  portrait 1080×1920 phone clip becomes 720×1280 and a landscape one 1280×720. Aspect is kept,
  both sides are even (yuv420p needs it), and nothing is scaled up.
* **Rotation is applied to the pixels** (``transpose`` for quarter turns, ``hflip,vflip`` for a
  half turn) after scaling, where frames are smallest; the output carries no display matrix or
  ``rotate`` tag, so players that ignore rotation still show it upright.
* **Constant frame rate**: the ``fps`` filter resamples variable-rate phone video to the
  source's average rate, snapped to a standard rate when close and capped at ``max_fps`` (30).
* **Nothing of the source's metadata is copied**: streams are created fresh (no template), no
  container or stream tag is set, the muxer runs bit-exact (no ``encoder`` tag) and frames'
  picture types are cleared so the source's GOP does not leak into the encoder.
* Output is written to a temporary file next to ``dst``, fsynced and moved into place with
  ``os.replace``; on any failure the temporary file is removed and ``dst`` is untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import msgspec
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.filter import Graph
from av.video.frame import PictureType, VideoFrame
from av.video.stream import VideoStream

from media.errors import NotAVideo, RenditionFailed, TooLarge
from media.probe import MAX_FRAMES, MAX_PIXELS, ProbeResult, decode_error, open_media, probe

__all__ = [
    "RenditionResult",
    "atomic_output",
    "make_web_rendition",
    "output_frame_rate",
    "output_size",
]

AUDIO_RATE: Final = 48_000
AUDIO_BIT_RATE: Final = 128_000
MAX_DECODE_ERRORS: Final = 50
SCALE_FLAGS: Final = "bicubic"
ENCODER_THREADING: Final = "FRAME"
"""x264 frame threads: the best throughput (slice threads cut latency, not needed here)."""
STANDARD_RATES: Final = (
    Fraction(24000, 1001),
    Fraction(24),
    Fraction(25),
    Fraction(30000, 1001),
    Fraction(30),
    Fraction(50),
    Fraction(60000, 1001),
    Fraction(60),
)

Progress = Callable[[float], None]
"""Called with the fraction done, 0.0 to 1.0. Raising from it cancels the rendition."""


class RenditionResult(msgspec.Struct, frozen=True, kw_only=True):
    width: int
    height: int
    duration: float
    """Seconds of video written (frames / frame rate)."""
    size: int
    """Bytes on disk."""
    frame_rate: float
    has_audio: bool


@contextlib.contextmanager
def atomic_output(dst: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``dst``; on success fsync it and move it onto ``dst``.

    On any exception the temporary file is deleted and ``dst`` is left as it was.
    """
    final = Path(dst)
    tmp = final.with_name(f".{final.name}.{secrets.token_hex(6)}.part")
    try:
        yield tmp
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def output_size(width: int, height: int, max_height: int = 720) -> tuple[int, int]:
    """Displayed ``width``×``height`` fitted so the shorter side is at most ``max_height``.

    Keeps the aspect ratio, never enlarges, rounds both sides to even numbers.
    """
    short = min(width, height)
    scale = min(1.0, max_height / short) if short > 0 else 1.0
    return _even(width * scale), _even(height * scale)


def output_frame_rate(average: float, max_fps: int = 30) -> Fraction:
    """The constant output rate: ``average`` capped at ``max_fps``, snapped to a standard rate."""
    if average <= 0 or average != average:
        return Fraction(min(30, max_fps))
    rate = min(average, float(max_fps))
    nearest = min(STANDARD_RATES, key=lambda standard: abs(float(standard) - rate))
    if nearest <= max_fps and abs(float(nearest) - rate) <= float(nearest) * 0.015:
        return nearest
    return Fraction(max(1, round(rate)))


def make_web_rendition(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    max_height: int = 720,
    crf: int = 23,
    preset: str = "veryfast",
    threads: int = 2,
    max_fps: int = 30,
    progress: Progress | None = None,
    probed: ProbeResult | None = None,
) -> RenditionResult:
    """Write the web rendition of ``src`` to ``dst`` (see the module doc for the rules).

    ``probed`` skips probing again when the caller already has the probe of ``src``.
    Raises :class:`~media.errors.MediaError`; ``dst`` exists only on success.
    """
    info = probed if probed is not None else probe(src)
    try:
        with open_media(src) as source, atomic_output(dst) as tmp:
            output = av.open(
                str(tmp),
                "w",
                format="mp4",
                options={"movflags": "+faststart", "fflags": "+bitexact"},
            )
            try:
                job = _Rendition(
                    source,
                    output,
                    info,
                    max_height=max_height,
                    crf=crf,
                    preset=preset,
                    threads=threads,
                    max_fps=max_fps,
                    progress=progress,
                )
                result = job.run()
            except BaseException:
                with contextlib.suppress(av.FFmpegError):
                    output.close()
                raise
            output.close()
    except av.FFmpegError as exc:
        raise RenditionFailed(CONVERSION_FAILED) from exc
    return msgspec.structs.replace(result, size=Path(dst).stat().st_size)


CONVERSION_FAILED = (
    "We could not convert this video for the web. Please try again later; if it keeps "
    "happening, export the video again from your phone and upload that."
)


class _Rendition:
    """One rendition in progress: the open source, the output, the filter graph."""

    def __init__(
        self,
        source: InputContainer,
        output: OutputContainer,
        info: ProbeResult,
        *,
        max_height: int,
        crf: int,
        preset: str,
        threads: int,
        max_fps: int,
        progress: Progress | None,
    ) -> None:
        self.source = source
        self.info = info
        self.progress = progress
        self.threads = max(1, threads)
        self.video_in = source.streams.video[_nth(source.streams.video, info.video_stream)]
        self.audio_in: AudioStream | None = None
        if info.audio_stream is not None:
            self.audio_in = source.streams.audio[_nth(source.streams.audio, info.audio_stream)]

        sar = self.video_in.sample_aspect_ratio
        coded_w = info.coded_width * (float(sar) if sar and sar > 0 else 1.0)
        display = (
            (info.coded_height, coded_w)
            if info.rotation in (90, 270)
            else (coded_w, info.coded_height)
        )
        self.width, self.height = output_size(round(display[0]), round(display[1]), max_height)
        self.rate = output_frame_rate(info.frame_rate, max_fps)

        self.output = output
        self.video_out = self.output.add_stream(
            "libx264",
            rate=self.rate,
            options={"preset": preset, "crf": str(crf), "profile": "high"},
        )
        self.video_out.width = self.width
        self.video_out.height = self.height
        self.video_out.pix_fmt = "yuv420p"
        self.video_out.codec_context.time_base = 1 / self.rate
        self.video_out.codec_context.gop_size = max(1, round(float(self.rate) * 2))
        self.video_out.codec_context.thread_count = self.threads
        self.video_out.codec_context.thread_type = ENCODER_THREADING

        self.audio_out: AudioStream | None = None
        self.resampler: AudioResampler | None = None
        if self.audio_in is not None:
            self.audio_out = self.output.add_stream("aac", rate=AUDIO_RATE)
            self.audio_out.layout = "stereo"
            self.audio_out.bit_rate = AUDIO_BIT_RATE
            self.resampler = AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)

        self.graph: Graph | None = None
        self.graph_input: tuple[int, int, str] = (0, 0, "")
        # The time that becomes 0 in the output: the start of the video stream (its first
        # frame when the container does not say), in the video stream's time base.
        self.origin: int | None = self.video_in.start_time
        self.last_in_pts = 0
        self.frames_out = 0
        self.last_pts = -1
        self.samples_out = 0
        self.audio_skip: int | None = None  # samples to drop (or, negative, silence to add)
        self.errors = 0
        self.reported = -1.0

    # -- video ---------------------------------------------------------------------------

    def _build_graph(self, frame: VideoFrame) -> Graph:
        rotation = self.info.rotation
        scaled = (self.height, self.width) if rotation in (90, 270) else (self.width, self.height)
        graph = Graph()
        graph.threads = self.threads
        nodes = [
            graph.add_buffer(
                width=frame.width,
                height=frame.height,
                format=frame.format,
                time_base=self.video_in.time_base,
            ),
            graph.add("fps", fps=str(self.rate)),
            graph.add("scale", w=str(scaled[0]), h=str(scaled[1]), flags=SCALE_FLAGS),
        ]
        if rotation == 90:
            nodes.append(graph.add("transpose", dir="clock"))
        elif rotation == 270:
            nodes.append(graph.add("transpose", dir="cclock"))
        elif rotation == 180:
            nodes += [graph.add("hflip"), graph.add("vflip")]
        nodes += [
            graph.add("setsar", sar="1"),
            graph.add("format", pix_fmts="yuv420p"),
            graph.add("buffersink"),
        ]
        graph.link_nodes(*nodes).configure()
        self.graph_input = (frame.width, frame.height, frame.format.name)
        return graph

    def _push_video(self, frame: VideoFrame | None) -> None:
        if frame is not None:
            pts = frame.pts if frame.pts is not None else self.last_in_pts + 1
            self.last_in_pts = pts
            if self.origin is None:
                self.origin = pts
            if self.graph is None:
                self.graph = self._build_graph(frame)
            if (frame.width, frame.height, frame.format.name) != self.graph_input:
                # A stream that changes size part-way: keep the first size (the decoder's
                # max_pixels already refused anything huge).
                width, height, fmt = self.graph_input
                frame = frame.reformat(width=width, height=height, format=fmt)
            frame.pts = pts - self.origin
            frame.time_base = self.video_in.time_base
        if self.graph is None:
            return
        self.graph.vpush(frame)
        self._drain_video()

    def _drain_video(self) -> None:
        assert self.graph is not None
        while True:
            try:
                out = self.graph.vpull()
            except (av.BlockingIOError, av.EOFError):
                return
            pts = self.frames_out
            if out.pts is not None and out.time_base is not None:
                pts = round(out.pts * out.time_base * self.rate)
            if pts <= self.last_pts:
                pts = self.last_pts + 1
            self.last_pts = pts
            out.pts = pts
            out.time_base = 1 / self.rate
            out.pict_type = PictureType.NONE
            self.output.mux(self.video_out.encode(out))
            self.frames_out += 1
            self._report(float(pts / self.rate))

    # -- audio ---------------------------------------------------------------------------

    def _push_audio(self, frame: AudioFrame | None) -> None:
        assert self.resampler is not None and self.audio_out is not None
        if frame is not None and self.audio_skip is None:
            if self.origin is None or frame.time is None:
                self.audio_skip = 0
            else:
                origin_s = float(self.origin * (self.video_in.time_base or 0))
                self.audio_skip = round((origin_s - frame.time) * AUDIO_RATE)
        if frame is not None:
            frame.pts = None
        for resampled in self.resampler.resample(frame):
            chunk = self._trim_start(resampled)
            if chunk is None:
                continue
            chunk.pts = self.samples_out
            chunk.time_base = Fraction(1, AUDIO_RATE)
            self.samples_out += chunk.samples
            self.output.mux(self.audio_out.encode(chunk))

    def _trim_start(self, chunk: AudioFrame) -> AudioFrame | None:
        """Line the sound up with the first picture: drop what comes before it."""
        skip = self.audio_skip or 0
        if skip <= 0:
            if skip < 0:  # sound starts after the picture: begin with silence
                self.samples_out += -skip
                self.audio_skip = 0
            return chunk
        if chunk.samples <= skip:
            self.audio_skip = skip - chunk.samples
            return None
        samples = chunk.to_ndarray()[:, skip:]
        self.audio_skip = 0
        trimmed = AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
        trimmed.sample_rate = AUDIO_RATE
        return trimmed

    # -- driving -------------------------------------------------------------------------

    def _report(self, seconds: float) -> None:
        if self.progress is None or self.info.duration <= 0:
            return
        fraction = min(1.0, seconds / self.info.duration)
        if fraction - self.reported >= 0.01:
            self.reported = fraction
            self.progress(fraction)

    def _decode(self, packet: av.Packet[Any]) -> list[VideoFrame] | list[AudioFrame]:
        stream = packet.stream
        try:
            if isinstance(stream, VideoStream):
                return stream.decode(packet)
            if isinstance(stream, AudioStream):
                return stream.decode(packet)
        except av.FFmpegError as exc:
            # A damaged packet: skip it as players do, unless the file is mostly damage.
            self.errors += 1
            if self.errors > MAX_DECODE_ERRORS:
                raise decode_error(exc) from exc
        return []

    def run(self) -> RenditionResult:
        self.video_in.thread_type = "AUTO"
        self.video_in.codec_context.thread_count = self.threads
        self.video_in.codec_context.options = {"max_pixels": str(MAX_PIXELS)}
        streams: list[VideoStream | AudioStream] = [self.video_in]
        if self.audio_in is not None:
            streams.append(self.audio_in)
        decoded = 0
        for packet in self.source.demux(streams):
            for frame in self._decode(packet):
                if isinstance(frame, VideoFrame):
                    # Headers can understate a file's frames; the count decoded cannot.
                    decoded += 1
                    if decoded > MAX_FRAMES:
                        raise TooLarge(
                            "This video has more frames than we can handle. "
                            "Please upload a shorter clip."
                        )
                    self._push_video(frame)
                elif self.audio_out is not None:
                    self._push_audio(frame)
        self._push_video(None)
        self.output.mux(self.video_out.encode(None))
        if self.audio_out is not None:
            self._push_audio(None)
            self.output.mux(self.audio_out.encode(None))
        if self.frames_out == 0:
            raise NotAVideo("We could not find any picture in this video to convert.")
        if self.progress is not None:
            self.progress(1.0)
        return RenditionResult(
            width=self.width,
            height=self.height,
            duration=round(self.frames_out / float(self.rate), 3),
            size=0,
            frame_rate=round(float(self.rate), 3),
            has_audio=self.audio_out is not None,
        )


def _nth(streams: tuple[VideoStream, ...] | tuple[AudioStream, ...], index: int) -> int:
    for position, stream in enumerate(streams):
        if stream.index == index:
            return position
    raise RenditionFailed("The video changed while we were converting it. Please upload it again.")
