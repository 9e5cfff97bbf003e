"""Marked text from the database's highlighter, as segments (pure: no Django).

The database marks matched words with two private-use characters; `segments` turns that
into (text, matched) pieces, so a page can escape every piece and wrap the matched ones in
<mark>, and the API can give offsets. Unbalanced or stray marks cannot break the markup.
"""

from __future__ import annotations

START = "\ue000"
STOP = "\ue001"


def segments(marked: str) -> list[tuple[str, bool]]:
    """Split `marked` into (text, matched) pieces; empty pieces are dropped."""
    out: list[tuple[str, bool]] = []
    inside = False
    piece: list[str] = []

    def flush() -> None:
        if piece:
            text = "".join(piece)
            if out and out[-1][1] == inside:
                out[-1] = (out[-1][0] + text, inside)
            else:
                out.append((text, inside))
            piece.clear()

    for char in marked:
        if char == START:
            flush()
            inside = True
        elif char == STOP:
            flush()
            inside = False
        else:
            piece.append(char)
    flush()
    return out


def has_match(pieces: list[tuple[str, bool]]) -> bool:
    return any(matched for _text, matched in pieces)


def plain(pieces: list[tuple[str, bool]]) -> str:
    return "".join(text for text, _matched in pieces)


def ranges(pieces: list[tuple[str, bool]]) -> list[tuple[int, int]]:
    """[start, end) character offsets of the matched pieces in `plain(pieces)`."""
    found, at = [], 0
    for text, matched in pieces:
        if matched:
            found.append((at, at + len(text)))
        at += len(text)
    return found
