"""Compare language detectors on the coach's corpus (the measurement behind docs/decisions.md).

Not part of the suite: it needs the candidates, which the project does not install. Run it
in a scratch virtual environment:

    python3.13 -m venv /tmp/cmp && /tmp/cmp/bin/pip install PyYAML lingua-language-detector \
        py3langid simplemma langdetect
    /tmp/cmp/bin/python benchmarks/compare_language_detectors.py

Every title of tests/data/coach/*.yaml is classified among seven languages (en, de, fr,
es, it, nl, pt); the script prints the share classified correctly per language of the
title and the time per title.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import yaml

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "coach"
CODES = ("en", "de", "fr", "es", "it", "nl", "pt")


def titles() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for path in sorted(CORPUS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, list):
            out += [(e["language"], e["text"]) for e in data]
            continue
        for entry in data.get("objectives", []) + data.get("key_results", []):
            out.append((data["language"], entry["text"]))
    return out


def lingua_detector(low_accuracy: bool) -> Callable[[str], str]:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in CODES]
    builder = LanguageDetectorBuilder.from_languages(*languages)
    builder = builder.with_low_accuracy_mode() if low_accuracy else builder
    detector = builder.with_preloaded_language_models().build()

    def detect(text: str) -> str:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else "?"

    return detect


def py3langid_detector() -> Callable[[str], str]:
    import py3langid

    py3langid.set_languages(list(CODES))
    return lambda text: str(py3langid.classify(text)[0])


def simplemma_detector() -> Callable[[str], str]:
    from simplemma import langdetect

    def detect(text: str) -> str:
        best = langdetect(text, lang=CODES)[0]
        return best[0] if best[1] > 0 else "?"

    return detect


def langdetect_detector() -> Callable[[str], str]:
    import langdetect

    langdetect.DetectorFactory.seed = 0

    def detect(text: str) -> str:
        try:
            ranked = langdetect.detect_langs(text)
        except langdetect.LangDetectException:
            return "?"
        allowed = [r for r in ranked if r.lang in CODES]
        return allowed[0].lang if allowed else "?"

    return detect


CANDIDATES: dict[str, Callable[[], Callable[[str], str]]] = {
    "lingua-language-detector (high accuracy)": lambda: lingua_detector(False),
    "lingua-language-detector (low accuracy)": lambda: lingua_detector(True),
    "py3langid": py3langid_detector,
    "simplemma.langdetect": simplemma_detector,
    "langdetect": langdetect_detector,
}


def main() -> None:
    corpus = titles()
    print(f"{len(corpus)} titles: {dict(Counter(lang for lang, _ in corpus))}")
    for name, make in CANDIDATES.items():
        detect = make()
        detect("warm up the models")
        right: Counter[str] = Counter()
        total: Counter[str] = Counter()
        started = time.perf_counter()
        for lang, text in corpus:
            group = lang if lang in ("en", "de") else "other"
            total[group] += 1
            right[group] += detect(text) == lang
        per_title = (time.perf_counter() - started) / len(corpus) * 1000
        shares = ", ".join(f"{g} {right[g] / total[g]:.3f}" for g in ("en", "de", "other"))
        print(f"{name}: {shares}; {per_title:.3f} ms per title")


if __name__ == "__main__":
    main()
