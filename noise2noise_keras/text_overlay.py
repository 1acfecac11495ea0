"""The text corruption's renderer: random strings composed from a cached glyph atlas, blitted with numpy.

Kept apart from the noise registry (``noise.py``) because it is the only
corruption drawn in Python rather than TensorFlow: ``TextNoise`` calls
:func:`render_one_at_a_time` through ``tf.numpy_function``.
"""

from __future__ import annotations

import dataclasses
import functools
import string
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

_RENDER_LOCK = threading.Lock()


def render_one_at_a_time(*arguments: Any) -> tuple[np.ndarray, np.ndarray]:
    """``render_text_overlay`` for tf.data's parallel map, one call at a time.

    Rendering is thousands of small numpy calls that each need the GIL; two
    tf.data threads rendering at once were each several times slower, worse
    than taking turns (docs/performance.md). Waiting on a lock releases
    the GIL, so TensorFlow's own ops (crops, flips, noise) keep running in
    parallel meanwhile.
    """
    with _RENDER_LOCK:
        return render_text_overlay(*arguments)


TEXT_MAX_FONT = 40  # pixels; if it grew with the image, test photos would get glyphs no training crop showed
_TEXT_ALPHABET = np.array(list(string.ascii_letters + string.digits + string.punctuation + " "))


@dataclasses.dataclass(frozen=True)
class _Glyph:
    """One character's aliased ink, where it sits relative to the pen, and how far it moves the pen."""

    ink: np.ndarray | None  # bool (h, w), trimmed to the inked pixels; None for blank characters
    left: int
    top: int
    advance: int


@functools.lru_cache(maxsize=64)
def _glyph_atlas(size: int) -> dict[str, _Glyph]:
    """Every character of the alphabet rasterised once at ``size``.

    FreeType rasterisation was most of the text-noise time when each string
    was rendered on its own; composing strings from cached glyphs removes it.
    Glyphs follow each other by their aliased advance, as in Pillow's basic
    layout, but each is placed on its own, so a glyph can land one pixel from
    where Pillow puts it inside a string (a test checks it): the same kind
    of text, not the same pixels.
    """
    font = ImageFont.load_default(size=size)
    atlas = {}
    for character in _TEXT_ALPHABET.tolist():
        left, top, right, bottom = font.getbbox(character, mode="1")
        stamp = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
        draw = ImageDraw.Draw(stamp)
        draw.fontmode = "1"
        draw.text((-left, -top), character, fill=255, font=font)
        ink = np.asarray(stamp) > 0
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        advance = int(font.getlength(character, mode="1"))  # aliased hinting has its own advances
        if rows.size == 0:
            atlas[character] = _Glyph(None, 0, 0, advance)
            continue
        trimmed = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy()
        atlas[character] = _Glyph(trimmed, left + int(cols[0]), top + int(rows[0]), advance)
    return atlas


_GLYPH_OVERHANG = 2  # pixels any glyph of sizes 10..TEXT_MAX_FONT reaches left of its pen (a test checks it)


def _placed_glyphs(atlas: dict[str, _Glyph], text: Iterable[str], x: int, y: int, right: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(left, top, ink)`` of each inked glyph of ``text`` drawn with its origin at ``(x, y)``, up to column ``right``.

    Pens only move right, so once one is past ``right`` by more than a glyph
    can overhang, the rest of the string is outside the picture: stopping
    there skips about a third of the glyphs of a 128² training crop.
    """
    for glyph in map(atlas.__getitem__, text):
        if x - _GLYPH_OVERHANG >= right:
            return
        if glyph.ink is not None:
            yield x + glyph.left, y + glyph.top, glyph.ink
        x += glyph.advance


def render_text_overlay(height: int, width: int, channels: int, coverage: float, seed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draw random text until ``coverage`` of the pixels is covered.

    Returns ``(colours, mask)``: float32 (H, W, C) text colours in [0, 1] and a
    bool (H, W, 1) mask of covered pixels. Later strings overwrite earlier ones.
    Strings are composed from the glyph atlas and blitted with numpy one
    glyph at a time; coverage is counted on each glyph's box, so the stopping
    rule stays exact without recounting the whole mask.
    """
    height, width, channels = int(height), int(width), int(channels)
    rng = np.random.default_rng(np.asarray(seed, dtype=np.int64).view(np.uint64).tolist())
    mask = np.zeros((height, width), dtype=bool)
    colours = np.zeros((height, width, 3), dtype=np.uint8)
    target = int(round(float(coverage) * height * width))
    covered = 0
    max_size = min(TEXT_MAX_FONT, max(12, min(height, width) // 3))  # glyphs as big on a photo as on a training crop
    for _ in range(10_000):
        if covered >= target:
            break
        atlas = _glyph_atlas(int(rng.integers(10, max_size + 1)))
        text = _TEXT_ALPHABET[rng.integers(0, _TEXT_ALPHABET.size, size=int(rng.integers(3, 16)))].tolist()  # rng.choice's stream, at a third of its cost
        x, y = int(rng.integers(-width // 4, width)), int(rng.integers(-height // 8, height))
        colour = rng.integers(0, 256, size=3).astype(np.uint8)
        for x0, y0, glyph_ink in _placed_glyphs(atlas, text, x, y, width):
            top, left = max(y0, 0), max(x0, 0)
            bottom, right = min(y0 + glyph_ink.shape[0], height), min(x0 + glyph_ink.shape[1], width)
            if top >= bottom or left >= right:
                continue  # outside the picture
            ink = glyph_ink[top - y0 : bottom - y0, left - x0 : right - x0]
            region = mask[top:bottom, left:right]
            covered += int(np.count_nonzero(ink > region))  # newly inked pixels
            region |= ink
            np.copyto(colours[top:bottom, left:right], colour, where=ink[..., None])
    colours = colours.astype(np.float32) / 255.0
    if channels == 1:
        colours = colours.mean(axis=2, keepdims=True)
    return colours, mask[..., None]
