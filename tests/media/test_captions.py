"""Captions: WebVTT or SRT in, WebVTT out, clear reasons for anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.captions import MAX_CAPTIONS_BYTES, Cue, cues, parse_captions, to_vtt, transcript
from media.errors import BadCaptions

SRT = (
    b"1\r\n00:00:01,000 --> 00:00:02,500\r\nWelcome to the <i>festival</i> &amp; thanks\r\n\r\n"
    b"2\r\n00:00:03,000 --> 00:00:04,000\r\nTwo lines\r\nof text\r\n\r\n"
    b"3\r\n00:00:08,000 --> 00:00:09,500\r\nAfter a pause\r\n"
)

VTT = b"""WEBVTT Kind: captions

NOTE written on the train, do not publish

00:01.000 --> 00:02.000 align:start
<v Amira>Hello, I'm Amira.

intro-2
00:00:02.000 --> 00:00:03.500
<v Amira>I run the <b>workshop</b>.

00:00:04.000 --> 00:00:05.000
<v Ben>And I'm Ben.
"""


def test_srt_is_converted_to_webvtt() -> None:
    vtt = parse_captions(SRT, duration=10.0)
    assert vtt.startswith("WEBVTT\n")
    assert "00:00:01.000 --> 00:00:02.500" in vtt
    assert "," not in vtt.split("\n")[2]
    assert cues(vtt) == [
        Cue(1.0, 2.5, "Welcome to the <i>festival</i> &amp; thanks"),
        Cue(3.0, 4.0, "Two lines\nof text"),
        Cue(8.0, 9.5, "After a pause"),
    ]
    assert transcript(vtt) == [
        "Welcome to the festival & thanks Two lines of text",
        "After a pause",
    ]


def test_webvtt_is_normalised_without_notes() -> None:
    vtt = parse_captions(VTT, duration=5.0)
    assert "NOTE" not in vtt and "train" not in vtt
    assert [(c.start, c.end) for c in cues(vtt)] == [(1.0, 2.0), (2.0, 3.5), (4.0, 5.0)]
    assert transcript(vtt) == ["Hello, I'm Amira. I run the workshop.", "And I'm Ben."]
    assert parse_captions(vtt.encode(), duration=5.0) == vtt


def test_bom_and_utf16_are_read() -> None:
    assert cues(parse_captions(b"\xef\xbb\xbf" + SRT, duration=None))[0].start == 1.0
    utf16 = SRT.decode().encode("utf-16")
    assert cues(parse_captions(utf16, duration=None))[2].text == "After a pause"


def test_cues_are_sorted() -> None:
    data = (
        b"WEBVTT\n\n00:00:03.000 --> 00:00:04.000\nsecond\n\n00:00:01.000 --> 00:00:02.000\nfirst\n"
    )
    assert [c.text for c in cues(parse_captions(data, duration=None))] == ["first", "second"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"  \n\n ", "empty"),
        (b"Thanks for coming to the festival!\n", "does not look like captions"),
        (b"<html><body>captions</body></html>", "does not look like captions"),
        (b"PK\x03\x04\x14\x00\x00\x00", "not captions"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\ncaf\xe9\n", "UTF-8"),
        (b"WEBVTT\n", "no captions"),
        (
            b"WEBVTT\n\n00:00:05.000 --> 00:00:04.000\nbackwards\n",
            "ends (00:00:04.000) before it starts",
        ),
        (b"WEBVTT\n\n00:00:05.000 --> 00:00:05.000\nzero\n", "before it starts"),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02\nx\n", "Line 3 has a cue time we can't read"),
        (
            b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nx\n00:00:02.000 --> 00:00:03.000\ny\n",
            "laid out",
        ),
        (b"1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\nok\n", "line 2"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> 00:00:04,000\n", "line 6"),
        (
            b"1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> 00:99:04,000\nx\n",
            "Line 6",
        ),
    ],
)
def test_bad_captions_have_reasons(data: bytes, words: str) -> None:
    with pytest.raises(BadCaptions) as caught:
        parse_captions(data, duration=10.0)
    assert words in caught.value.reason


def test_cue_beyond_the_clip_is_rejected() -> None:
    data = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n00:00:09.000 --> 00:00:12.000\nlate\n"
    with pytest.raises(BadCaptions) as caught:
        parse_captions(data, duration=10.0)
    assert (
        "line 6 ends at 00:00:12.000, after the end of the clip (00:00:10.000)"
        in caught.value.reason
    )
    # Within the half-second tolerance, and with no known duration, it is accepted.
    assert parse_captions(data, duration=11.6)
    assert parse_captions(data, duration=None)


def test_size_limit() -> None:
    cue = "00:00:01.000 --> 00:00:02.000\n" + "x" * 70 + "\n\n"
    big = ("WEBVTT\n\n" + cue * (MAX_CAPTIONS_BYTES // len(cue) + 1)).encode()
    assert len(big) > MAX_CAPTIONS_BYTES
    with pytest.raises(BadCaptions) as caught:
        parse_captions(big, duration=None)
    assert "at most 1 MB" in caught.value.reason


@pytest.mark.parametrize(
    ("cue", "words"),
    [
        (Cue(2.0, 1.0, "x"), "ends before it starts"),
        (Cue(-1.0, 1.0, "x"), "ends before it starts"),
        (Cue(1.0, 2.0, ""), "empty line"),
        (Cue(1.0, 2.0, "a\n\nb"), "empty line"),
        (Cue(1.0, 2.0, "a --> b"), "-->"),
    ],
)
def test_to_vtt_refuses_bad_cues(cue: Cue, words: str) -> None:
    with pytest.raises(BadCaptions) as caught:
        to_vtt([cue])
    assert words in caught.value.reason


def test_stored_text_that_is_not_webvtt() -> None:
    with pytest.raises(BadCaptions):
        cues("not captions")


_line = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() != "" and "-->" not in s)


@st.composite
def cue_lists(draw: st.DrawFn) -> list[Cue]:
    result = []
    for _ in range(draw(st.integers(0, 8))):
        start = draw(st.integers(0, 10_000_000))
        length = draw(st.integers(1, 600_000))
        lines = draw(st.lists(_line, min_size=1, max_size=3))
        result.append(Cue(start / 1000, (start + length) / 1000, "\n".join(lines)))
    return result


@given(cue_lists())
def test_to_vtt_and_cues_round_trip(items: list[Cue]) -> None:
    text = to_vtt(items)
    assert cues(text) == items
    assert to_vtt(cues(text)) == text
    if items:
        assert parse_captions(text.encode(), duration=None) == to_vtt(
            sorted(items, key=lambda c: (c.start, c.end))
        )
