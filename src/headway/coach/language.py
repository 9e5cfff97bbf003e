"""Which language a title is written in, so the coach judges only what it can read.

py3langid (a naive Bayes classifier over byte n-grams whose model ships in its wheel)
ranks the languages it knows. Short titles are often ambiguous (a two-word English title
can look French to it), so the language the organisation or the file says it writes in
counts five times as likely as any other before the title is read: measured on the coach's
corpus, that classifies every English and German title and every title in another
language correctly (see docs/decisions.md). Results are cached by the title's words with
its numbers masked.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["DEFAULT", "NAMES", "SUPPORTED", "default_language", "detect", "name"]

#: Languages whose wording the coach judges.
SUPPORTED = ("en", "de")
DEFAULT = "en"
#: The prior weight of the stated language against every other one.
PRIOR = 5.0

NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "nl": "Dutch", "pt": "Portuguese", "pl": "Polish", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "nb": "Norwegian", "fi": "Finnish", "cs": "Czech", "tr": "Turkish",
    "ru": "Russian", "ja": "Japanese", "zh": "Chinese", "ar": "Arabic", "el": "Greek",
    "hu": "Hungarian", "ro": "Romanian", "uk": "Ukrainian", "ko": "Korean",
}  # fmt: skip

_CODE = re.compile(r"^[a-z]{2}$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_identifier: Any = None
_lock = threading.Lock()


def name(code: str) -> str:
    """A language's English name ("fr" → "French"), or its code when unknown."""
    return NAMES.get(code, code)


def default_language(environ: Mapping[str, str]) -> str:
    """The organisation's language from HEADWAY_LANGUAGE (an ISO 639-1 code, default en)."""
    value = environ.get("HEADWAY_LANGUAGE", "").strip().lower() or DEFAULT
    if not _CODE.match(value):
        raise ValueError(f"HEADWAY_LANGUAGE must be a two-letter language code, got {value!r}")
    return value


def _model() -> Any:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import (
                    MODEL_FILE,
                    LanguageIdentifier,
                )

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


@lru_cache(maxsize=100_000)
def _detect(masked: str, default: str) -> str:
    ranked = dict(_model().rank(masked))
    if default in ranked:
        ranked[default] *= PRIOR
    best = max(ranked, key=lambda code: ranked[code])
    return str(best)


@lru_cache(maxsize=100_000)
def detect(title: str, default: str = DEFAULT) -> str:
    """The ISO 639-1 code of the title's language; `default` when the title has no words."""
    masked = _NUMBER.sub("7", title).strip()
    if not any(ch.isalpha() for ch in masked):
        return default
    return _detect(masked, default)
