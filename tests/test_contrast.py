"""WCAG 2.2 AA contrast for every text colour in the style sheet (issue 19).

Each rule that sets a text `color` is checked against its own background, or against the
card and page backgrounds when it sets none: at least 4.5:1 (AA for normal text).
"""

from __future__ import annotations

import re
from pathlib import Path

CSS = Path(__file__).resolve().parents[1] / "src" / "headway" / "static" / "headway" / "headway.css"

#: Rules whose colour carries no information (with why): WCAG 1.4.3 exempts decoration.
DECORATIVE = {
    ".toggle.leaf": "an aria-hidden dot where a tree node without children has no toggle",
}


def _tokens(css: str) -> dict[str, str]:
    root = css[css.index(":root") : css.index("}", css.index(":root"))]
    return dict(re.findall(r"(--[\w-]+):\s*([^;]+);", root))


def _hex(value: str, tokens: dict[str, str]) -> str | None:
    value = value.strip().removesuffix("!important").strip()
    for _ in range(5):
        found = re.fullmatch(r"var\((--[\w-]+)\)", value)
        if not found:
            break
        value = tokens.get(found.group(1), "").strip()
    if re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        return value.lower()
    if re.fullmatch(r"#[0-9a-fA-F]{3}", value):
        return "#" + "".join(c * 2 for c in value[1:]).lower()
    return None  # inherit, currentColor, rgba(…): nothing fixed to check


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_is_computed_as_wcag_defines_it() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54


def test_every_text_colour_meets_wcag_aa_on_its_background() -> None:
    css = re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.DOTALL)
    tokens = _tokens(css)
    page_backgrounds = [_hex("var(--card)", tokens), _hex("var(--bg)", tokens)]
    failures = []
    checked = 0
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        colour = re.search(r"(?<![-\w])color:\s*([^;]+)", body)
        if not colour:
            continue
        fg = _hex(colour.group(1), tokens)
        if fg is None:
            continue
        background = re.search(r"background(?:-color)?:\s*([^;]+)", body)
        bgs = [_hex(background.group(1), tokens)] if background else page_backgrounds
        for selector in (s.strip() for s in selectors.split(",")):
            if selector in DECORATIVE:
                continue
            for bg in bgs:
                if bg is None:
                    continue
                checked += 1
                ratio = contrast(fg, bg)
                if ratio < 4.5:
                    failures.append(f"{selector}: {fg} on {bg} is {ratio:.2f}:1")
    assert checked > 50
    assert not failures, "\n".join(failures)
