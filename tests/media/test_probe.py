"""probe(): the facts of phone clips, and a readable reason for everything else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from media.errors import MediaError, NotAVideo, TooLarge, Truncated
from media.probe import ProbeResult, probe
from tests.media import clips


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("probe")


@pytest.fixture(scope="module")
def portrait(folder: Path) -> Path:
    return clips.portrait_h264_mp4(folder / "portrait.mp4")


def test_portrait_android_clip(portrait: Path) -> None:
    info = probe(portrait)
    assert isinstance(info, ProbeResult)
    assert info.container == "mp4"
    assert info.video_codec == "h264"
    assert info.audio_codec == "aac"
    assert info.rotation == 90
    assert (info.coded_width, info.coded_height) == (320, 180)
    assert (info.width, info.height) == (180, 320)
    assert info.portrait
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert info.frame_rate == pytest.approx(30.0)
    assert info.variable_frame_rate is False
    assert info.creation_time == datetime(2025, 6, 14, 9, 30, 15, tzinfo=UTC)
    assert info.size == portrait.stat().st_size
    assert info.bit_rate is not None and info.bit_rate > 0
    assert info.pixel_format == "yuv420p"


@pytest.mark.parametrize(
    ("rotation", "displayed"),
    [(0, (320, 180)), (90, (180, 320)), (180, (320, 180)), (270, (180, 320))],
)
def test_rotation_read_from_the_display_matrix(
    folder: Path, rotation: int, displayed: tuple[int, int]
) -> None:
    path = clips.write_clip(
        folder / f"rot{rotation}.mp4", rotation=rotation, seconds=0.5, audio=False
    )
    info = probe(path)
    assert info.rotation == rotation
    assert (info.width, info.height) == displayed
    assert info.audio_codec is None
    assert info.audio_stream is None


def test_rotation_read_from_the_rotate_tag(folder: Path) -> None:
    info = probe(clips.rotate_tag_mkv(folder / "tagged.mkv", rotation=270))
    assert info.container == "matroska"
    assert info.rotation == 270
    assert (info.width, info.height) == (180, 320)


def test_iphone_hevc_mov(folder: Path) -> None:
    info = probe(clips.hevc_mov(folder / "iphone.mov"))
    assert info.container == "mov"
    assert info.video_codec == "hevc"
    assert info.audio_codec == "aac"
    assert info.rotation == 90
    assert (info.width, info.height) == (180, 320)
    # The Apple creation date keeps the phone's local offset; it is the same instant.
    assert info.creation_time is not None
    assert info.creation_time.utcoffset() == timedelta(hours=1)
    assert info.creation_time == datetime(
        2025, 6, 14, 10, 30, 15, tzinfo=timezone(timedelta(hours=1))
    )
    assert info.creation_time == datetime(2025, 6, 14, 9, 30, 15, tzinfo=UTC)


def test_variable_frame_rate_is_detected(folder: Path) -> None:
    info = probe(clips.vfr_mp4(folder / "vfr.mp4"))
    assert info.variable_frame_rate is True
    assert 15 < info.frame_rate < 60
    assert info.creation_time is None


def test_clip_without_tags(folder: Path) -> None:
    info = probe(clips.landscape_h264_mp4(folder / "plain.mp4", seconds=0.5))
    assert info.creation_time is None
    assert info.rotation == 0
    assert not info.portrait


@pytest.mark.parametrize("live", [False, True])
def test_browser_webm_recording(folder: Path, live: bool) -> None:
    """MediaRecorder files often state no duration: it is measured from the packets."""
    info = probe(clips.webm_recording(folder / f"recorded-{live}.webm", live=live))
    assert info.container == "webm"
    assert (info.video_codec, info.audio_codec) == ("vp8", "opus")
    assert info.rotation == 90
    assert (info.width, info.height) == (180, 320)
    assert info.duration == pytest.approx(2.0, abs=0.05)


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _huge_square(path: Path) -> Path:
    return clips.huge_dimensions(path)


def _huge_wide(path: Path) -> Path:
    return clips.huge_dimensions(path, width=9000, height=1000)


def _truncated_faststart(path: Path) -> Path:
    return clips.truncated(path, faststart=True)


@pytest.mark.parametrize(
    ("make", "name", "error", "words"),
    [
        (clips.audio_only, "memo.m4a", NotAVideo, "sound but no picture"),
        (clips.wav_as_mp4, "memo.mp4", NotAVideo, "sound but no picture"),
        (clips.truncated, "cut.mp4", Truncated, "incomplete"),
        (_truncated_faststart, "cut-faststart.mp4", Truncated, "stops earlier"),
        (clips.text_as_mp4, "notes.mp4", NotAVideo, "text document"),
        (clips.zip_as_mp4, "archive.mp4", NotAVideo, "zip archive"),
        (clips.html_as_mp4, "page.mp4", NotAVideo, "web page"),
        (clips.jpeg_as_mp4, "photo.mp4", NotAVideo, "photo"),
        (_empty, "empty.mp4", NotAVideo, "empty"),
        (_huge_square, "huge.avi", TooLarge, "7000×7000"),
        (_huge_wide, "wide.avi", TooLarge, "9000×1000"),
    ],
)
def test_what_is_not_a_playable_video_is_rejected_with_a_reason(
    folder: Path,
    make: Callable[[Path], Path],
    name: str,
    error: type[MediaError],
    words: str,
) -> None:
    path = make(folder / name)
    with pytest.raises(error) as caught:
        probe(path)
    reason = caught.value.reason
    assert words in reason
    assert reason == str(caught.value)
    assert "Errno" not in reason and "av." not in reason and "ffmpeg" not in reason.lower()


def test_too_long_clip_is_rejected(portrait: Path) -> None:
    with pytest.raises(TooLarge) as caught:
        probe(portrait, max_duration=1.0)
    assert "2 s long" in caught.value.reason
    assert "at most 1 s" in caught.value.reason


def test_missing_file_is_a_storage_error_not_the_volunteers(folder: Path) -> None:
    with pytest.raises(FileNotFoundError):
        probe(folder / "nothing-here.mp4")


@pytest.fixture(scope="module")
def clip_bytes(folder: Path) -> bytes:
    return clips.portrait_h264_mp4(
        folder / "fuzz-source.mp4", seconds=1.0, faststart=True
    ).read_bytes()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    keep=st.one_of(st.none(), st.floats(0.0, 1.0)),
    scribbles=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=20),
)
def test_damaged_files_raise_only_media_errors(
    clip_bytes: bytes, tmp_path: Path, keep: float | None, scribbles: list[tuple[float, int]]
) -> None:
    """Cut or scribbled-over clips are either still readable or a MediaError, never a PyAV error."""
    damaged = bytearray(clip_bytes)
    if keep is not None:
        damaged = damaged[: int(len(damaged) * keep)]
    for where, byte in scribbles:
        if damaged:
            damaged[min(len(damaged) - 1, int(len(damaged) * where))] = byte
    path = tmp_path / "damaged.mp4"
    path.write_bytes(bytes(damaged))
    try:
        info = probe(path)
    except MediaError as exc:
        assert exc.reason
    else:
        assert info.width > 0 and info.height > 0
