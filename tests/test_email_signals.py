"""E-mails speak the pages' vocabulary of signals: the chip's word, its colours (issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headway.notify.channels import render_email
from headway.notify.models import Event
from headway.web.common import STYLE_SHEET, tone_colours
from tests.test_contrast import contrast

NOW = datetime(2027, 2, 1, tzinfo=UTC)


def _mail(kind: str, **numbers: object) -> tuple[str, str]:
    event = Event(
        kind=kind, dedupe_key=f"{kind}:x", title="Something moved", occurred_at=NOW,
        data={"facts": [], "numbers": numbers},
    )  # fmt: skip
    _subject, text, html = render_email(event)
    return text, html


def test_the_chip_colours_are_the_style_sheets_tokens() -> None:
    css = STYLE_SHEET.read_text()
    colours = tone_colours()
    assert set(colours) == {"green", "yellow", "red", "none"}
    # The pages' chips use the same tokens the e-mails read.
    chip_rule = ".status-off_track, .health-critical.chip { background: var(--red-bg); "
    assert chip_rule + "color: var(--red-text); }" in css
    for text, background in colours.values():
        assert contrast(text, background) >= 4.5


@pytest.mark.parametrize(
    ("kind", "numbers", "word", "tone"),
    [
        ("kr_off_track", {}, "Off track", "red"),
        ("kr_achieved", {}, "Achieved", "green"),
        ("kpi_health", {"health": "warning"}, "Warning", "yellow"),
        ("kpi_health", {"health": "healthy"}, "Healthy", "green"),
        # The grade's band is that of the unrounded grade: 0.39 reads 0.4 but is red.
        ("cycle_closed", {"mean_grade": 0.39}, "Graded 0.4", "red"),
        ("cycle_closed", {"mean_grade": 0.7}, "Graded 0.7", "green"),
    ],
)
def test_an_email_shows_the_signal_in_its_word_and_colour(
    kind: str, numbers: dict[str, object], word: str, tone: str
) -> None:
    text, html = _mail(kind, **numbers)
    colour, background = tone_colours()[tone]
    assert f'color: {colour}; background: {background};">{word}</span>' in html
    assert f"[{word}]" in text


def test_an_email_about_no_signal_shows_no_chip() -> None:
    text, html = _mail("mentioned")
    assert "border-radius: 999px" not in html
    assert "[" not in text.split("\n", 3)[2]
