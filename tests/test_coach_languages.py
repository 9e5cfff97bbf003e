"""The coach on real writing: English and German corpora, languages, word boundaries.

The corpus is tests/data/coach/: per language a development split (the rules may be tuned
on it) and held-out splits (never tuned on; each was run once and its first figures are
kept beside it). docs/coach.md reports the figures computed here, and a test keeps them
equal. Run as a script to print the table:
    .venv/bin/python tests/test_coach_languages.py
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from headway.coach import german, grammar, language, rules, wording
from headway.coach.files import lint_document
from headway.coach.verdict import Verdict
from headway.document.load import DocumentError, load_texts

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "coach"
DOC_PATH = ROOT / "docs" / "coach.md"
LANGUAGES = ("en", "de")
SPLITS = ("dev", "heldout", "heldout-2", "heldout-3")
WORDING_RULES = ("objective-is-metric", "objective-vague", "kr-is-task")
# What the rules meet (docs/coach.md gives the figures). The goal, precision and recall of
# at least 0.9 for the three wording rules in both languages, holds on the third held-out
# split, the one written after the last tuning; the first two splits were each run once
# before later tuning and are kept as a floor.
MIN_DEV = 0.95
MIN_HELDOUT = 0.9
MIN_EARLIER_HELDOUT = 0.6
ACCEPTANCE_SPLIT = "heldout-3"

Judge = Callable[[dict[str, Any], str], Verdict]
RULES: dict[str, tuple[str, str, Judge]] = {
    "objective-is-metric": (
        "objectives", "metric", lambda e, lang: wording.objective_is_metric(e["text"], lang)
    ),
    "objective-vague": (
        "objectives", "vague", lambda e, lang: wording.objective_vague(e["text"], lang)
    ),
    "kr-is-task": (
        "key_results", "task", lambda e, lang: wording.kr_is_task(e["text"], e["kind"], lang)
    ),
    "kr-not-measurable": (
        "key_results",
        "unmeasurable",
        lambda e, lang: wording.kr_not_measurable(e["text"], "milestone", None, None, lang),
    ),
}  # fmt: skip


def load(lang: str, split: str) -> dict[str, Any]:
    data = yaml.safe_load((CORPUS / f"{lang}-{split}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@dataclass(frozen=True)
class Figures:
    sentences: int
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def evaluate(rule: str, lang: str, split: str) -> tuple[Figures, list[str]]:
    section, label, judge = RULES[rule]
    tp = fp = fn = n = 0
    wrong: list[str] = []
    for entry in load(lang, split)[section]:
        if label not in entry:
            continue
        n += 1
        verdict = judge(entry, lang)
        expected = entry[label]
        tp += verdict.fires and expected
        fp += verdict.fires and not expected
        fn += expected and not verdict.fires
        if verdict.fires != expected:
            wrong.append(f"{entry['text']!r}: expected {expected}, {verdict.reason}")
    return Figures(n, tp, fp, fn), wrong


def markdown_table() -> str:
    lines = [
        "| language | rule | split | sentences | precision | recall |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for lang in LANGUAGES:
        for rule in RULES:
            for split in SPLITS:
                f, _ = evaluate(rule, lang, split)
                lines.append(
                    f"| {lang} | `{rule}` | {split} | {f.sentences} | {f.precision:.2f} "
                    f"| {f.recall:.2f} |"
                )
    return "\n".join(lines)


# --------------------------------------------------------------------------- corpus


def test_corpus_is_large_enough_and_well_formed() -> None:
    texts: list[str] = []
    for lang, least in (("en", 300), ("de", 200)):
        count = 0
        for split in SPLITS:
            data = load(lang, split)
            assert data["language"] == lang
            for entry in data["objectives"]:
                assert set(entry) == {"text", "metric", "vague"}, entry
            for entry in data["key_results"]:
                assert set(entry) - {"unmeasurable"} == {"text", "kind", "task"}, entry
                assert ("unmeasurable" in entry) == (entry["kind"] == "milestone"), entry
            count += len(data["objectives"]) + len(data["key_results"])
            texts += [e["text"].lower() for e in data["objectives"] + data["key_results"]]
        assert count >= least, (lang, count)
    assert len(texts) == len(set(texts)), "duplicate sentences"


def test_no_corpus_sentence_appears_in_the_code() -> None:
    code = " ".join(
        p.read_text(encoding="utf-8").lower() for p in (ROOT / "src/headway/coach").glob("*.py")
    )
    leaked = [
        e["text"]
        for lang in LANGUAGES
        for split in SPLITS
        for e in load(lang, split)["objectives"] + load(lang, split)["key_results"]
        if e["text"].lower() in code
    ]
    assert not leaked


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("rule", list(RULES))
def test_rule_is_accurate_on_the_development_split(rule: str, lang: str) -> None:
    figures, wrong = evaluate(rule, lang, "dev")
    assert figures.precision >= MIN_DEV, "\n".join(wrong)
    assert figures.recall >= MIN_DEV, "\n".join(wrong)


@pytest.mark.parametrize("split", SPLITS[1:])
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("rule", list(RULES))
def test_rule_stays_above_the_floor_on_held_out_sentences(rule: str, lang: str, split: str) -> None:
    figures, _ = evaluate(rule, lang, split)  # misfires are not shown: no tuning on them
    least = MIN_HELDOUT if split == ACCEPTANCE_SPLIT and rule in WORDING_RULES else None
    least = least or MIN_EARLIER_HELDOUT
    assert figures.precision >= least
    assert figures.recall >= least


def test_docs_report_the_computed_figures() -> None:
    doc = DOC_PATH.read_text(encoding="utf-8")
    assert markdown_table() in doc


# --------------------------------------------------------------------------- languages


def test_language_is_detected_per_title_with_the_stated_language_as_prior() -> None:
    assert language.detect("Wir finalisieren unsere Bereichsstrategie", "en") == "de"
    assert language.detect("Raise the share of repeat buyers to 40%", "de") == "en"
    assert language.detect("Lancer la nouvelle boutique en ligne", "en") == "fr"
    assert language.detect("Team Offsite", "de") == "de"  # ambiguous: the stated language
    assert language.detect("2027", "de") == "de"


def test_every_title_in_another_language_is_recognised() -> None:
    data = yaml.safe_load((CORPUS / "other-languages.yaml").read_text(encoding="utf-8"))
    for entry in data:
        for default in LANGUAGES:
            assert language.detect(entry["text"], default) == entry["language"], entry


def test_default_language_comes_from_the_environment() -> None:
    assert language.default_language({}) == "en"
    assert language.default_language({"HEADWAY_LANGUAGE": "DE"}) == "de"
    with pytest.raises(ValueError, match="two-letter"):
        language.default_language({"HEADWAY_LANGUAGE": "german"})


DOCUMENT = """\
version: 1
{language}
teams: [{{key: co, name: Co, kind: company}}]
cycles: [{{key: q1, start: 2027-01-01, end: 2027-03-31}}]
objectives:
  - key: o1
    title: {objective}
    team: co
    cycle: q1
    key_results:
      - {{key: k1, title: "{kr}", kind: milestone}}
      - {{key: k2, title: "Pedidos entregados a tiempo", kind: increase, start: 1, target: 2}}
"""


def _lint(objective: str, kr: str, lang: str = "") -> list[rules.Finding]:
    text = DOCUMENT.format(language=f"language: {lang}" if lang else "", objective=objective, kr=kr)
    doc = load_texts([("okrs.yaml", text)])
    return [f for f, _, _ in lint_document(doc, datetime(2027, 2, 1, tzinfo=UTC))]


def test_a_title_in_an_unsupported_language_gets_one_info_finding_and_no_guess() -> None:
    findings = _lint("Améliorer l'accueil des clients", "Lancer la nouvelle application")
    by_path: dict[str, list[str]] = {}
    for f in findings:
        by_path.setdefault(f.path, []).append(f.rule)
    assert by_path["objectives/o1"] == ["language-unsupported"]
    assert by_path["objectives/o1/key_results/k1"] == ["language-unsupported"]
    assert by_path["objectives/o1/key_results/k2"] == ["language-unsupported"]
    message = next(f.message for f in findings if f.path == "objectives/o1")
    assert "French (fr)" in message
    assert all(f.severity == "info" for f in findings if f.rule == "language-unsupported")


def test_german_titles_are_judged_in_german() -> None:
    findings = _lint("Unsere Prozesse verbessern", "Wir kommunizieren die neue Strategie", "de")
    rules_fired = {(f.path, f.rule) for f in findings}
    assert ("objectives/o1", "objective-vague") in rules_fired
    assert ("objectives/o1/key_results/k1", "kr-is-task") in rules_fired


def test_a_document_names_one_language() -> None:
    with pytest.raises(DocumentError, match="two-letter"):
        load_texts([("a.yaml", "version: 1\nlanguage: german\n")])
    with pytest.raises(DocumentError, match="one language"):
        load_texts(
            [("a.yaml", "version: 1\nlanguage: de\n"), ("b.yaml", "version: 1\nlanguage: en\n")]
        )
    assert load_texts([("a.yaml", "version: 1\nlanguage: de\n")]).language == "de"


# --------------------------------------------------------------------------- grammar


def test_the_fast_tagger_agrees_with_hanta_on_the_corpus() -> None:
    for lang in LANGUAGES:
        data = load(lang, "dev")
        for entry in data["objectives"] + data["key_results"]:
            words = grammar.analyse(entry["text"], lang)
            hanta = grammar.hanta_tags([grammar._for_tagger(k, t, lang) for k, t in
                                        grammar.tokens(entry["text"])], lang)  # fmt: skip
            assert [w.tag for w in words] == hanta, entry["text"]


def test_words_keep_their_letters_in_any_script() -> None:
    assert [t for _, t in grammar.tokens("Aktivitäten und Marktopportunitäten")] == [
        "Aktivitäten", "und", "Marktopportunitäten",
    ]  # fmt: skip


# A word that contains a trigger ("ten", "launch", "run", "zehn", "einführen") inside it
# is a different word: no finding may fire because of that substring.
TRIGGERS = ("ten", "two", "launch", "run", "hire", "improve", "zehn", "drei", "starten", "senken")
letters = st.text(alphabet=string.ascii_lowercase + "äöüß", min_size=1, max_size=5)


@settings(max_examples=150, deadline=None)
@given(
    prefix=letters,
    trigger=st.sampled_from(TRIGGERS),
    suffix=letters,
    lang=st.sampled_from(LANGUAGES),
)
def test_no_finding_fires_because_of_a_substring_inside_a_longer_word(
    prefix: str, trigger: str, suffix: str, lang: str
) -> None:
    word = prefix + trigger + suffix
    for title in (f"Neue {word.capitalize()} im Team", f"The {word} of the team"):
        # No number is read inside the word ("Aktivitäten" holds no "ten")…
        assert wording.parse(title).numbers == ()
        assert german._measures(grammar.analyse(title, "de")) == []
        # …and no verdict names the trigger as the word that decided.
        verdicts = (
            wording.objective_is_metric(title, lang),
            wording.kr_is_task(title, "milestone", lang),
            wording.objective_vague(title, lang),
        )
        for verdict in verdicts:
            if verdict.fires:
                named = re.findall(r'"([^"]+)"', verdict.reason)
                assert all(trigger != n.lower() for n in named), (title, verdict.reason)


# --------------------------------------------------------------------------- explanations


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_finding_names_the_words_that_decided(lang: str) -> None:
    for split in ("dev",):
        data = load(lang, split)
        for rule in WORDING_RULES:
            section, _, judge = RULES[rule]
            for entry in data[section]:
                verdict = judge(entry, lang)
                if not verdict.fires:
                    continue
                quoted = re.findall(r'"([^"]+)"', verdict.reason)
                assert quoted, (entry["text"], verdict.reason)
                text = entry["text"].lower()
                assert any(
                    part.lower() in text
                    for q in quoted
                    for part in q.replace("…", " ").split()
                    if part.strip(".,") and part not in ("%",)
                ), (entry["text"], verdict.reason)


if __name__ == "__main__":
    print(markdown_table())
