"""Re-encoding a photo as a plain function: whatever bytes come after an image's magic number,
the answer is a clean JPEG or a refusal with a stable code (never another exception)."""

from __future__ import annotations

import io

from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from cardsvc.kernel.errors import AppError
from merchants.directory.photos import MAX_SIDE, reencode

MAGIC = [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBPVP8 "]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(MAGIC), st.binary(max_size=2048))
def test_any_bytes_are_a_jpeg_or_a_coded_refusal(magic: bytes, tail: bytes) -> None:
    try:
        out = reencode(magic + tail)
    except AppError as exc:
        assert exc.code in {"photo_type", "photo_unreadable", "photo_too_many_pixels"}
        return
    assert Image.open(io.BytesIO(out)).format == "JPEG"


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4000), st.integers(1, 4000), st.sampled_from(["JPEG", "PNG", "WEBP"]))
@example(1635, 1, "PNG").via("a strip whose short side cannot shrink")
@example(4000, 3999, "JPEG").via("nearly square")
def test_the_longest_side_is_bounded_and_the_shape_kept(w: int, h: int, fmt: str) -> None:
    src = io.BytesIO()
    Image.new("RGB", (w, h), (10, 120, 200)).save(src, fmt)
    im = Image.open(io.BytesIO(reencode(src.getvalue())))
    long_side, short_side = max(w, h), min(w, h)
    assert max(im.size) == min(long_side, MAX_SIDE)
    # The shape: the short side scaled as the long one, to a whole pixel and never below one
    # (a 1635 x 1 strip stays 1 px high, so its ratio cannot be kept better than that).
    scaled = short_side * min(1.0, MAX_SIDE / long_side)
    assert abs(min(im.size) - max(1.0, scaled)) <= 1
    assert (im.size[0] >= im.size[1]) == (w >= h) or abs(im.size[0] - im.size[1]) <= 1
    assert not im.getexif() and "icc_profile" not in im.info
