"""Part-of-speech tags and lemmas of a title, from HanTa's English and German models.

HanTa (the Hanover Tagger) ships its trained models inside its wheel, so nothing is
downloaded at run time. It tags a sentence with a hidden Markov model over its tags and
gives each word a lemma. This module uses HanTa's model as it is but runs the Viterbi
search itself, iterating over the few tags a word can have instead of every tag the model
knows: the same tags (a test checks it against HanTa's own `tag_sent` on the corpus) at a
fraction of the cost, which keeps `headway lint` on a large organisation fast. Results
are cached by the title's words with its numbers masked (a number's value never changes
its tag), so "Raise NPS from 31 to 40" and "Raise NPS from 28 to 45" are tagged once.

Each :class:`Word` carries HanTa's own tag and a coarse class (:data:`CLASSES`) that the
judges read, the same for both languages.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["CLASSES", "LANGUAGES", "Word", "analyse", "hanta_tags", "tokens"]

#: Languages with a model here: ISO 639-1 code → HanTa's model file.
LANGUAGES = {"en": "morphmodel_en.pgz", "de": "morphmodel_ger.pgz"}

#: Coarse word classes shared by both languages.
CLASSES = (
    "VERB",  # a verb's base form: imperative or infinitive ("launch", "einführen")
    "FIN",  # a finite verb in the present ("launches", "führen … durch" after "wir")
    "PAST",  # a simple past ("launched" as in "We launched")
    "PART",  # a past participle ("launched", "eingeführt")
    "GER",  # an -ing form ("launching")
    "AUX",  # be, have, do, modals; sein, haben, werden
    "NOUN",
    "PROPN",
    "ADJ",
    "ADV",
    "NUM",
    "ORD",
    "DET",
    "PRON",
    "ADP",
    "CONJ",
    "PRT",  # particles: "to", "zu", a separated verb prefix ("durch"), "not"
    "SYM",
)

# HanTa's English tags are the BNC's C5 tag set.
_EN_CLASS = {
    "VVB": "VERB", "VVI": "VERB", "VVZ": "FIN", "VVD": "PAST", "VVN": "PART", "VVG": "GER",
    "VDB": "VERB", "VDI": "VERB", "VDZ": "FIN", "VDD": "PAST", "VDN": "PART", "VDG": "GER",
    "VBB": "AUX", "VBI": "AUX", "VBZ": "AUX", "VBD": "AUX", "VBN": "AUX", "VBG": "AUX",
    "VHB": "AUX", "VHI": "AUX", "VHZ": "AUX", "VHD": "AUX", "VHN": "AUX", "VHG": "AUX",
    "VM0": "AUX", "NN0": "NOUN", "NN1": "NOUN", "NN2": "NOUN", "NP0": "PROPN",
    "AJ0": "ADJ", "AJC": "ADJ", "AJS": "ADJ", "AV0": "ADV", "AVQ": "ADV", "AVP": "PRT",
    "AT0": "DET", "DT0": "DET", "DTQ": "DET", "DPS": "DET", "CRD": "NUM", "ORD": "ORD",
    "PRP": "ADP", "PRF": "ADP", "CJC": "CONJ", "CJS": "CONJ", "CJT": "CONJ",
    "PNP": "PRON", "PNI": "PRON", "PNX": "PRON", "PNQ": "PRON", "TO0": "PRT", "XX0": "PRT",
    "EX0": "PRON", "POS": "PRT", "ITJ": "ADV", "UNC": "SYM",
}  # fmt: skip

# HanTa's German tags are STTS with the verb form in brackets: VV(FIN), ADJ(A), …
_DE_PREFIX = (
    ("VV(INF)", "VERB"), ("VV(IZU)", "VERB"), ("VV(IMP)", "VERB"), ("VV(FIN)", "FIN"),
    ("VV(PP)", "PART"), ("VA", "AUX"), ("VM", "AUX"), ("NN", "NOUN"), ("NE", "PROPN"),
    ("ADJ", "ADJ"), ("ADV", "ADV"), ("PAV", "ADV"), ("PWAV", "ADV"), ("CARD", "NUM"),
    ("ART", "DET"), ("PPOSAT", "DET"), ("PDAT", "DET"), ("PIAT", "DET"), ("PWAT", "DET"),
    ("PIDAT", "DET"), ("APPR", "ADP"), ("APPO", "ADP"), ("APZR", "ADP"), ("KO", "CONJ"),
    ("PTK", "PRT"), ("P", "PRON"), ("TRUNC", "NOUN"), ("FM", "NOUN"), ("XY", "SYM"),
    ("$", "SYM"), ("ITJ", "ADV"),
)  # fmt: skip


def _coarse(language: str, tag: str) -> str:
    if language == "en":
        return _EN_CLASS.get(tag, "SYM")
    for prefix, cls in _DE_PREFIX:
        if tag.startswith(prefix):
            return cls
    return "SYM"


@dataclass(frozen=True, slots=True)
class Word:
    """One token of a title with its tag and lemma (lemma and lower case, for matching)."""

    text: str
    lower: str
    lemma: str
    tag: str
    pos: str

    @property
    def is_verb(self) -> bool:
        return self.pos in ("VERB", "FIN", "PAST", "PART", "GER")


# Numbers in both conventions ("1,000.5", "1.000,5", "99,95", "2.5"), words of letters
# in any script (so "Aktivitäten" is one word and never contains "ten"), and symbols.
_TOKEN_RE = re.compile(
    r"""
    (?P<num>\d+(?:[.,]\d+)*)
    | (?P<word>[^\W\d_](?:[\w]|[&'\u2019\-](?=\w))*)
    | (?P<sym>[^\w\s])
    """,
    re.VERBOSE,
)


def tokens(title: str) -> list[tuple[str, str]]:
    """The title's tokens as (kind, text) with kind "num", "word" or "sym"."""
    out: list[tuple[str, str]] = []
    for m in _TOKEN_RE.finditer(title):
        kind = m.lastgroup or "sym"
        out.append((kind, m.group()))
    return out


class _Model:
    """One HanTa model, loaded on first use (loading takes a few tenths of a second)."""

    def __init__(self, language: str) -> None:
        from HanTa import HanoverTagger

        self.language = language
        self.tagger: Any = HanoverTagger.HanoverTagger(LANGUAGES[language])
        self.end: int = HanoverTagger.END
        self.start: int = HanoverTagger.START
        self.empty: int = HanoverTagger.EMPTY
        self.unknown: int = HanoverTagger.UNKNOWN
        self.transitions: dict[tuple[int, int], dict[int, float]] = self.tagger.LP_trans_word
        self.emit = lru_cache(maxsize=200_000)(self._emit)
        self.lemma = lru_cache(maxsize=200_000)(self._lemma)

    def _emit(self, word: str, case_sensitive: bool) -> tuple[tuple[int, float], ...]:
        scores = dict(
            self.tagger._tag_word(word, cutoff=5, casesensitive=case_sensitive, conditional=True)
        )
        if len(scores) == 1 and self.unknown in scores:
            scores = {}
        return tuple(scores.items())

    def _lemma(self, word: str, tag: str) -> str:
        lemma, _ = self.tagger.analyze(word, pos=tag, taglevel=1)
        return str(lemma)

    def tag(self, words: tuple[str, ...]) -> list[str]:
        """The most likely tag sequence (HanTa's model, HanTa's search with pruning)."""
        floor = -1e6
        previous: dict[tuple[int, int], float] = {(self.empty, self.start): 0.0}
        back: list[dict[tuple[int, int], tuple[int, int]]] = []
        for i, word in enumerate(words):
            emissions = self.emit(word, i > 0)
            row: dict[tuple[int, int], float] = {}
            pointers: dict[tuple[int, int], tuple[int, int]] = {}
            bound = sorted(previous.values(), reverse=True)[5] - 1 if len(previous) > 5 else floor
            for state, score in previous.items():
                if score < bound:
                    continue
                following = self.transitions[state]
                pairs = (
                    ((c, following.get(c), p) for c, p in emissions)
                    if emissions
                    else ((c, lp, 0.0) for c, lp in following.items())
                )
                for tag, transition, emission in pairs:
                    if transition is None or tag == self.end:
                        continue
                    total = score + transition + emission
                    if total > floor:
                        new = (state[1], tag)
                        if new not in row or total > row[new]:
                            row[new] = total
                            pointers[new] = state
            back.append(pointers)
            previous = row
        best: tuple[int, int] | None = None
        best_score = -math.inf
        for state, score in previous.items():
            total = score + self.transitions[state].get(self.end, -math.inf)
            if total > best_score:
                best, best_score = state, total
        tags: list[int] = []
        current = best
        for pointers in reversed(back):
            assert current is not None
            tags.append(current[1])
            current = pointers[current]
        return [self.tagger.int2tag[t] for t in reversed(tags)]


_models: dict[str, _Model] = {}
_lock = threading.Lock()


def _model(language: str) -> _Model:
    model = _models.get(language)
    if model is None:
        with _lock:
            model = _models.get(language) or _Model(language)
            _models[language] = model
    return model


_NUMBER_STAND_IN = "7"


@lru_cache(maxsize=100_000)
def _analyse_masked(language: str, masked: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    model = _model(language)
    tags = model.tag(masked)
    out = []
    for word, tag in zip(masked, tags, strict=True):
        lemma = model.lemma(word, tag) if word[0].isalpha() else word
        out.append((lemma.lower(), tag, _coarse(language, tag)))
    return tuple(out)


def _for_tagger(kind: str, text: str, language: str) -> str:
    if kind == "num":
        return _NUMBER_STAND_IN
    if language == "en" and text.isupper() and len(text) > 4:
        return text.lower()  # "LAUNCHED THE APP": shouting is no proper noun
    return text.replace("\u2019", "'")


@lru_cache(maxsize=50_000)
def analyse(title: str, language: str) -> tuple[Word, ...]:
    """The title's words with their tags and lemmas; `language` is a key of LANGUAGES."""
    toks = tokens(title)
    if not toks:
        return ()
    masked = tuple(_for_tagger(kind, text, language) for kind, text in toks)
    tagged = _analyse_masked(language, masked)
    return tuple(
        Word(
            text,
            text.lower(),
            lemma if kind != "num" else text,
            tag,
            pos if kind != "sym" else "SYM",
        )
        for (kind, text), (lemma, tag, pos) in zip(toks, tagged, strict=True)
    )


def hanta_tags(words: list[str], language: str) -> list[str]:
    """HanTa's own `tag_sent` tags, for the test that this module's search agrees with it."""
    return [tag for _, _, tag in _model(language).tagger.tag_sent(words, taglevel=1)]


def participle_verb(word: str, language: str) -> str:
    """The verb a participle or participial adjective comes from ("veröffentlichter" →
    "veröffentlichen", "shipped" → "ship"), or "" when it is none."""
    model = _model(language)
    if language == "de":
        stem = model.lemma(word, "ADJ(A)") if not word.endswith("t") else word
        if not stem.endswith("t"):
            return ""
        verb = model.lemma(stem, "VV(PP)").lower()
        return verb if verb.endswith("n") and verb != stem.lower() else ""
    verb = model.lemma(word, "VVN").lower()
    return verb if verb != word.lower() or word.lower() in ("cut", "set", "put", "run") else ""
