"""make_web_rendition(): H.264/AAC MP4, faststart, 720p or less, upright, CFR, no metadata."""

from __future__ import annotations

import itertools
import struct
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image

from media.errors import NotAVideo, RenditionFailed
from media.posters import make_poster
from media.probe import probe
from media.renditions import make_web_rendition, output_frame_rate, output_size
from tests.media import clips
from tests.media.test_posters import assert_upright

PRIVATE = (
    "location",
    "make",
    "model",
    "creation",
    "apple",
    "android",
    "date",
    "gps",
    "software",
    "encoder",
)


def top_level_boxes(path: Path) -> list[str]:
    """The types of the top-level boxes (atoms) of an MP4 file, in file order."""
    boxes: list[str] = []
    with path.open("rb") as fh:
        size = path.stat().st_size
        offset = 0
        while offset + 8 <= size:
            fh.seek(offset)
            length, kind = struct.unpack(">I4s", fh.read(8))
            if length == 1:
                (length,) = struct.unpack(">Q", fh.read(8))
            elif length == 0:
                length = size - offset
            boxes.append(kind.decode("latin-1"))
            assert length >= 8
            offset += length
    return boxes


def all_tags(path: Path) -> dict[str, str]:
    """Every container and stream tag of a file, stream tags prefixed with the stream index."""
    with av.open(str(path)) as container:
        tags = dict(container.metadata)
        for stream in container.streams:
            tags.update({f"{stream.index}:{k}": v for k, v in stream.metadata.items()})
    return tags


def video_pts_steps(path: Path) -> set[int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None)
    return {b - a for a, b in itertools.pairwise(pts)}


def assert_plays_on_the_web(path: Path, *, audio: bool = True) -> None:
    info = probe(path)
    assert info.container == "mp4"
    assert info.video_codec == "h264"
    assert info.pixel_format == "yuv420p"
    assert info.rotation == 0
    assert min(info.width, info.height) <= 720
    assert info.width % 2 == 0 and info.height % 2 == 0
    assert info.audio_codec == ("aac" if audio else None)
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat"), f"not faststart: {boxes}"
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert video.codec_context.profile in ("High", "Main")
        if audio:
            sound = container.streams.audio[0]
            assert sound.codec_context.sample_rate == 48000
            assert sound.codec_context.layout.name == "stereo"
    assert len(video_pts_steps(path)) == 1, "frame rate is not constant"


def assert_no_private_metadata(path: Path) -> None:
    tags = all_tags(path)
    leaked = {k: v for k, v in tags.items() if any(word in k.lower() for word in PRIVATE)}
    assert leaked == {}
    data = path.read_bytes()
    for value in (*clips.PHONE_TAGS.values(), *clips.ANDROID_TAGS.values(), "2025-06-14"):
        if len(value) >= 5:  # long enough not to occur by chance in compressed data
            assert value.encode() not in data, f"{value!r} is in the rendition"
    # QuickTime/iTunes tag atoms: GPS, make, model, date, Apple "mdta" keys, 3GPP location.
    for fourcc in (b"\xa9xyz", b"\xa9mak", b"\xa9mod", b"\xa9day", b"mdta", b"loci"):
        assert fourcc not in data


def test_android_portrait_clip(tmp_path: Path) -> None:
    source = clips.portrait_h264_mp4(tmp_path / "portrait.mp4")
    assert "location" in all_tags(source)  # the source does carry them
    assert b"mdta" in source.read_bytes() and b"Pixel 8" in source.read_bytes()
    out = tmp_path / "web.mp4"
    progress: list[float] = []
    result = make_web_rendition(source, out, progress=progress.append)
    assert_plays_on_the_web(out)
    assert_no_private_metadata(out)
    info = probe(out)
    assert (info.width, info.height) == (180, 320)  # never scaled up
    assert (result.width, result.height) == (180, 320)
    assert result.size == out.stat().st_size
    assert result.has_audio
    assert result.frame_rate == 30.0
    assert info.frame_rate == pytest.approx(30.0)
    assert result.duration == pytest.approx(2.0, abs=0.05)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert progress[-1] == 1.0
    assert progress == sorted(progress)
    make_poster(out, tmp_path / "p.jpg", tmp_path / "t.jpg")
    with Image.open(tmp_path / "p.jpg") as poster:
        assert_upright(poster)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "p.jpg",
        "portrait.mp4",
        "t.jpg",
        "web.mp4",
    ]


def test_iphone_hevc_mov_becomes_h264_mp4(tmp_path: Path) -> None:
    source = clips.hevc_mov(tmp_path / "iphone.mov")
    out = tmp_path / "web.mp4"
    make_web_rendition(source, out)
    assert_plays_on_the_web(out)
    assert_no_private_metadata(out)
    info = probe(out)
    assert (info.width, info.height) == (180, 320)
    make_poster(out, tmp_path / "p.jpg", tmp_path / "t.jpg")
    with Image.open(tmp_path / "p.jpg") as poster:
        assert_upright(poster)


def test_browser_webm_becomes_h264_mp4(tmp_path: Path) -> None:
    source = clips.webm_recording(tmp_path / "recorded.webm")
    out = tmp_path / "web.mp4"
    result = make_web_rendition(source, out)
    assert result.duration == pytest.approx(2.0, abs=0.05)
    assert_plays_on_the_web(out)
    make_poster(out, tmp_path / "p.jpg", tmp_path / "t.jpg")
    with Image.open(tmp_path / "p.jpg") as poster:
        assert poster.height > poster.width
        assert_upright(poster)


def test_1080p_portrait_becomes_720_wide(tmp_path: Path) -> None:
    source = clips.write_clip(
        tmp_path / "big.mp4",
        coded_size=(1920, 1080),
        rotation=90,
        seconds=0.5,
        tags=clips.ANDROID_TAGS,
    )
    out = tmp_path / "web.mp4"
    result = make_web_rendition(source, out)
    assert (result.width, result.height) == (720, 1280)
    assert_plays_on_the_web(out)
    assert_no_private_metadata(out)
    info = probe(out)
    assert (info.width, info.height) == (720, 1280)
    make_poster(out, tmp_path / "p.jpg", tmp_path / "t.jpg")
    with Image.open(tmp_path / "p.jpg") as poster:
        assert_upright(poster)


def test_variable_frame_rate_becomes_constant(tmp_path: Path) -> None:
    source = clips.vfr_mp4(tmp_path / "vfr.mp4")
    assert probe(source).variable_frame_rate is True
    out = tmp_path / "web.mp4"
    result = make_web_rendition(source, out)
    assert_plays_on_the_web(out)
    info = probe(out)
    assert info.variable_frame_rate is False
    assert result.frame_rate == 25.0  # the source averages 24.8 fps
    assert info.duration == pytest.approx(probe(source).duration, abs=0.15)


def test_upside_down_and_silent(tmp_path: Path) -> None:
    source = clips.write_clip(tmp_path / "flip.mp4", rotation=180, seconds=0.5, audio=False)
    out = tmp_path / "web.mp4"
    result = make_web_rendition(source, out)
    assert not result.has_audio
    assert_plays_on_the_web(out, audio=False)
    make_poster(out, tmp_path / "p.jpg", tmp_path / "t.jpg")
    with Image.open(tmp_path / "p.jpg") as poster:
        assert poster.width > poster.height
        assert_upright(poster)


def test_rotate_tag_is_applied_to_the_pixels(tmp_path: Path) -> None:
    source = clips.rotate_tag_mkv(tmp_path / "tagged.mkv")
    out = tmp_path / "web.mp4"
    make_web_rendition(source, out)
    assert_plays_on_the_web(out, audio=False)
    make_poster(out, tmp_path / "p.jpg", tmp_path / "t.jpg")
    with Image.open(tmp_path / "p.jpg") as poster:
        assert poster.height > poster.width
        assert_upright(poster)


def test_not_a_video_leaves_no_file(tmp_path: Path) -> None:
    source = clips.html_as_mp4(tmp_path / "page.mp4")
    with pytest.raises(NotAVideo):
        make_web_rendition(source, tmp_path / "web.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.mp4"]


class Cancelled(Exception):
    pass


def test_failure_part_way_leaves_no_partial_file(tmp_path: Path) -> None:
    source = clips.portrait_h264_mp4(tmp_path / "portrait.mp4")
    out = tmp_path / "web.mp4"
    out.write_bytes(b"the previous rendition")

    def cancel(fraction: float) -> None:
        if fraction > 0.3:
            raise Cancelled

    with pytest.raises(Cancelled):
        make_web_rendition(source, out, progress=cancel)
    assert out.read_bytes() == b"the previous rendition"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portrait.mp4", "web.mp4"]


def test_encoder_failure_is_a_media_error_and_leaves_no_file(tmp_path: Path) -> None:
    source = clips.landscape_h264_mp4(tmp_path / "clip.mp4", seconds=0.5)
    with pytest.raises(RenditionFailed) as caught:
        make_web_rendition(source, tmp_path / "web.mp4", preset="no-such-preset")
    assert "could not convert" in caught.value.reason
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


@pytest.mark.parametrize(
    ("displayed", "expected"),
    [
        ((1080, 1920), (720, 1280)),
        ((1920, 1080), (1280, 720)),
        ((3840, 2160), (1280, 720)),
        ((2160, 3840), (720, 1280)),
        ((1440, 1080), (960, 720)),
        ((720, 1280), (720, 1280)),
        ((480, 854), (480, 854)),
        ((181, 321), (180, 320)),
        ((1080, 2400), (720, 1600)),
    ],
)
def test_720p_rule_shorter_side(displayed: tuple[int, int], expected: tuple[int, int]) -> None:
    assert output_size(*displayed) == expected


@pytest.mark.parametrize(
    ("average", "expected"),
    [
        (30.0, Fraction(30)),
        (29.97, Fraction(30000, 1001)),
        (29.87, Fraction(30000, 1001)),
        (59.94, Fraction(30)),
        (60.0, Fraction(30)),
        (25.0, Fraction(25)),
        (24.83, Fraction(25)),
        (23.976, Fraction(24000, 1001)),
        (15.0, Fraction(15)),
        (0.0, Fraction(30)),
    ],
)
def test_output_frame_rate(average: float, expected: Fraction) -> None:
    assert output_frame_rate(average) == expected
