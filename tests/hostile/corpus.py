"""Hostile upload files too big or too binary to keep in the repository, made on demand.

The small ones are kept as they are in ``tests/hostile/files/``: a text file and a saved web
page, each named ``.mp4``. Each maker here writes one file at ``path`` and returns the path.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import av

from tests.media import clips

FILES = Path(__file__).parent / "files"


def kept(name: str) -> bytes:
    return (FILES / name).read_bytes()


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def truncated(path: Path) -> Path:
    """A real phone clip cut in half, as an upload that stopped part-way."""
    return clips.truncated(path)


def zip_named_mp4(path: Path) -> Path:
    """A zip archive holding a video's name, named like a video itself."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("interview.mp4", b"\x00" * 100_000)
    path.write_bytes(buffer.getvalue())
    return path


def claims_100k_square(path: Path) -> Path:
    """A tiny MJPEG AVI whose headers claim 100,000 × 100,000 pixels (10 gigapixels). AVI
    sizes are 32-bit, so they say it in full; a JPEG frame header holds at most 65,535 a
    side, which it claims instead."""
    clips.huge_dimensions(path, width=7000, height=7000)
    data = bytearray(path.read_bytes())
    i = data.index(b"avih") + 8
    data[i + 32 : i + 40] = struct.pack("<II", 100_000, 100_000)
    i = data.index(b"strf") + 8
    data[i + 4 : i + 12] = struct.pack("<ii", 100_000, 100_000)
    start = 0
    while (i := data.find(b"\xff\xc0", start)) >= 0:
        data[i + 5 : i + 9] = struct.pack(">HH", 65_535, 65_535)
        start = i + 2
    path.write_bytes(bytes(data))
    return path


def png_bomb(path: Path, side: int = 30_000) -> Path:
    """A PNG video (small in its AVI headers) whose every picture says it is ``side`` ×
    ``side`` pixels (900 megapixels, 2.7 GB decoded) in a few hundred bytes of zeros."""
    with av.open(str(path), "w", format="avi") as out:
        stream = out.add_stream("png", rate=10)
        assert isinstance(stream, av.VideoStream)
        stream.width = stream.height = 64
        stream.pix_fmt = "rgb24"
        for index in range(3):
            picture = clips.displayed_picture(index, 64, 64)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    data = bytearray(path.read_bytes())
    start = 0
    while (i := data.find(b"IHDR", start)) >= 0:
        data[i + 4 : i + 12] = struct.pack(">II", side, side)
        crc = zlib.crc32(bytes(data[i : i + 17]))
        data[i + 17 : i + 21] = struct.pack(">I", crc)
        start = i + 4
    path.write_bytes(bytes(data))
    return path


def thousand_frames_a_second(path: Path) -> Path:
    """Two seconds of near-empty pictures at 1,000 frames a second: small on disk, but every
    picture must be decoded. A longer one would keep a worker busy for hours."""
    return clips.write_clip(path, coded_size=(64, 64), seconds=2.0, fps=1000, audio=False)
