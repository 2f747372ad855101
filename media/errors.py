"""The errors of the media package.

Every failure of ``media`` is a :class:`MediaError` carrying a ``reason``: one or two plain
sentences a volunteer can read on a phone, saying what is wrong and what to do about it. The
``code`` is a stable machine-readable name for the kind of failure, for the service to map to
its own error tree and for tests. No exception from PyAV, Pillow or webvtt-py leaves this
package unwrapped (the original is kept as ``__cause__`` for the logs).

    MediaError
    ├── NotAVideo       not a media file, a photo, sound only, no picture we can decode
    ├── Truncated       the file stops part-way: an upload that did not finish
    ├── TooLarge        frame size, pixel count or duration over the limits
    ├── RenditionFailed the file probed fine but could not be converted
    └── BadCaptions     captions that are not WebVTT/SRT, or have impossible times
"""

from __future__ import annotations

__all__ = [
    "BadCaptions",
    "MediaError",
    "NotAVideo",
    "RenditionFailed",
    "TooLarge",
    "Truncated",
]


class MediaError(Exception):
    """A media file or a captions file we cannot use, with a reason for the volunteer."""

    code: str = "media_error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r})"


class NotAVideo(MediaError):
    """The file is not a video we can play: text, an archive, a photo, sound only, ..."""

    code = "not_a_video"


class Truncated(MediaError):
    """The file is cut short, usually an upload that stopped before the end."""

    code = "truncated"


class TooLarge(MediaError):
    """The picture is too big or the clip too long to process."""

    code = "too_large"


class RenditionFailed(MediaError):
    """Converting the clip for the web failed part-way."""

    code = "rendition_failed"


class BadCaptions(MediaError):
    """Captions that cannot be used as they are."""

    code = "bad_captions"
