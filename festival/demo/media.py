"""Generated clips for the demo festival: a portrait phone-style video with a title card.

The demo needs real media to show posters, renditions and captions working, and no
recording of a real person may be shipped; so each clip is drawn frame by frame (a
coloured card with the speaker's chosen name and a moving bar) with a soft tone for sound.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

WIDTH, HEIGHT = 360, 640
FPS = 25
RATE = 48_000


def _frame(index: int, seconds: float, title: str, colour: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), colour)
    draw = ImageDraw.Draw(image)
    progress = index / (seconds * FPS)
    draw.rectangle((0, HEIGHT - 24, int(WIDTH * progress), HEIGHT), fill=(255, 255, 255))
    words = title.split()
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + len(word) < 22:
            lines[-1] += " " + word
        else:
            lines.append(word)
    for n, line in enumerate(lines[:6]):
        draw.text((24, 200 + n * 28), line, fill=(255, 255, 255))
    draw.ellipse(
        (150 + 60 * math.sin(index / 12), 480, 210 + 60 * math.sin(index / 12), 540),
        fill=(255, 221, 0),
    )
    return image


def make_demo_clip(
    path: Path, title: str, *, seconds: float = 6.0, colour: tuple[int, int, int] = (29, 112, 184)
) -> Path:
    """Write an H.264/AAC MP4 of ``seconds`` showing ``title``."""
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast"})
        assert isinstance(video, av.VideoStream)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("aac", rate=RATE)
        assert isinstance(audio, av.AudioStream)
        audio.layout = "mono"
        for index in range(int(seconds * FPS)):
            frame = av.VideoFrame.from_image(  # type: ignore[no-untyped-call]
                _frame(index, seconds, title, colour)
            )
            frame.pts = index
            out.mux(video.encode(frame.reformat(format="yuv420p")))
        out.mux(video.encode(None))
        samples = 1024
        for start in range(0, int(seconds * RATE), samples):
            t = (np.arange(start, start + samples) / RATE).astype(np.float32)
            tone = (0.05 * np.sin(2 * np.pi * 220 * t)).astype(np.float32).reshape(1, -1)
            chunk = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            chunk.sample_rate = RATE
            chunk.pts = start
            chunk.time_base = Fraction(1, RATE)
            out.mux(audio.encode(chunk))
        out.mux(audio.encode(None))
    return path
