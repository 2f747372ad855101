"""make_poster(): upright JPEGs of the right size, with no metadata, written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from media.errors import NotAVideo
from media.posters import make_poster, poster_time
from tests.media import clips

RED = (230, 20, 20)
BLUE = (20, 20, 230)


def _near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def assert_upright(image: Image.Image) -> None:
    """The clips mark the upright picture: red square top-left, blue square bottom-left."""
    rgb = image.convert("RGB")
    inset = max(2, min(rgb.size) // 40)
    top_left = rgb.getpixel((inset, inset))
    bottom_left = rgb.getpixel((inset, rgb.height - 1 - inset))
    assert isinstance(top_left, tuple) and isinstance(bottom_left, tuple)
    assert _near(top_left, RED), f"top-left is {top_left}, not red: the picture is not upright"
    assert _near(bottom_left, BLUE), f"bottom-left is {bottom_left}, not blue"


def assert_no_metadata(path: Path) -> None:
    data = path.read_bytes()
    assert b"Exif" not in data
    assert b"GPS" not in data
    assert b"ICC_PROFILE" not in data
    with Image.open(path) as image:
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info
        assert "icc_profile" not in image.info
        assert "comment" not in image.info


def test_portrait_poster_is_upright_small_and_clean(tmp_path: Path) -> None:
    clip = clips.portrait_h264_mp4(tmp_path / "portrait.mp4")
    poster, thumb = tmp_path / "poster.jpg", tmp_path / "thumb.jpg"
    result = make_poster(clip, poster, thumb)
    with Image.open(poster) as image:
        assert image.size == (result.poster_width, result.poster_height)
        assert image.height > image.width
        assert_upright(image)
    with Image.open(thumb) as image:
        assert image.size == (result.thumb_width, result.thumb_height)
        assert max(image.size) <= 320
        assert image.height > image.width
        assert_upright(image)
    assert_no_metadata(poster)
    assert_no_metadata(thumb)
    assert result.poster_size == poster.stat().st_size
    assert result.thumb_size == thumb.stat().st_size
    # 10% into a 2 s clip, to the frame.
    assert result.at_seconds == pytest.approx(0.2, abs=0.04)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portrait.mp4", "poster.jpg", "thumb.jpg"]


@pytest.mark.parametrize("rotation", [180, 270])
def test_every_rotation_is_turned_upright(tmp_path: Path, rotation: int) -> None:
    clip = clips.write_clip(tmp_path / "clip.mp4", rotation=rotation, seconds=0.5, audio=False)
    make_poster(clip, tmp_path / "poster.jpg", tmp_path / "thumb.jpg")
    with Image.open(tmp_path / "poster.jpg") as image:
        assert_upright(image)
        assert (image.height > image.width) == (rotation == 270)


def test_rotate_tag_is_applied(tmp_path: Path) -> None:
    clip = clips.rotate_tag_mkv(tmp_path / "tagged.mkv")
    make_poster(clip, tmp_path / "poster.jpg", tmp_path / "thumb.jpg")
    with Image.open(tmp_path / "poster.jpg") as image:
        assert image.height > image.width
        assert_upright(image)


def test_iphone_hevc_poster(tmp_path: Path) -> None:
    clip = clips.hevc_mov(tmp_path / "iphone.mov", seconds=1.0)
    make_poster(clip, tmp_path / "poster.jpg", tmp_path / "thumb.jpg")
    with Image.open(tmp_path / "poster.jpg") as image:
        assert image.height > image.width
        assert_upright(image)
    assert_no_metadata(tmp_path / "poster.jpg")


def test_large_frames_are_scaled_down(tmp_path: Path) -> None:
    clip = clips.write_clip(
        tmp_path / "big.mp4", coded_size=(1920, 1080), rotation=90, seconds=0.4, audio=False
    )
    result = make_poster(clip, tmp_path / "poster.jpg", tmp_path / "thumb.jpg")
    assert (result.poster_width, result.poster_height) == (720, 1280)
    assert (result.thumb_width, result.thumb_height) == (180, 320)
    with Image.open(tmp_path / "poster.jpg") as image:
        assert_upright(image)


def test_chosen_time(tmp_path: Path) -> None:
    clip = clips.landscape_h264_mp4(tmp_path / "clip.mp4", seconds=2.0)
    result = make_poster(clip, tmp_path / "p.jpg", tmp_path / "t.jpg", at_seconds=1.5)
    assert result.at_seconds == pytest.approx(1.5, abs=0.04)
    past_end = make_poster(clip, tmp_path / "p.jpg", tmp_path / "t.jpg", at_seconds=60)
    assert past_end.at_seconds <= 2.0


def test_poster_time_rule() -> None:
    assert poster_time(60.0) == 1.0
    assert poster_time(10.0) == 1.0
    assert poster_time(4.0) == pytest.approx(0.4)
    assert poster_time(0.5) == pytest.approx(0.05)


def test_bad_file_leaves_nothing_and_keeps_old_posters(tmp_path: Path) -> None:
    bad = clips.text_as_mp4(tmp_path / "notes.mp4")
    poster, thumb = tmp_path / "poster.jpg", tmp_path / "thumb.jpg"
    with pytest.raises(NotAVideo):
        make_poster(bad, poster, thumb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp4"]

    poster.write_bytes(b"old poster")
    with pytest.raises(NotAVideo):
        make_poster(bad, poster, thumb)
    assert poster.read_bytes() == b"old poster"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp4", "poster.jpg"]
