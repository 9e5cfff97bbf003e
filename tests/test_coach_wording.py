"""The coach's wording rules: parsing, the four judges, and their measured accuracy.

The judges are evaluated on a labelled corpus (tests/data/coach_sentences.yaml) whose
sentences never appear in the code; precision and recall per rule must stay above the
thresholds below, and docs/coach.md must report exactly the figures computed here.

Run as a script to print the table for docs/coach.md:
    .venv/bin/python tests/test_coach_wording.py
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from headway.coach import wording
from headway.coach.wording import (
    Verdict,
    kr_is_task,
    kr_not_measurable,
    lemma,
    objective_is_metric,
    objective_vague,
    parse,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS_PATH = ROOT / "tests" / "data" / "coach_sentences.yaml"
DOC_PATH = ROOT / "docs" / "coach.md"
SOURCE_PATH = Path(wording.__file__)

# Thresholds the rules meet honestly (see docs/coach.md for the actual figures).
MIN_PRECISION = 0.85
MIN_RECALL = 0.80
MIN_HELDOUT_PRECISION = 0.80
MIN_HELDOUT_RECALL = 0.75

Judge = Callable[[dict[str, Any]], Verdict]

RULES: dict[str, tuple[str, Judge]] = {
    "objective-is-metric": ("objective", lambda e: objective_is_metric(e["text"])),
    "objective-vague": ("objective", lambda e: objective_vague(e["text"])),
    "kr-is-task": ("key_result", lambda e: kr_is_task(e["text"], e.get("kind"))),
    "kr-not-measurable": (
        "key_result",
        lambda e: kr_not_measurable(e["text"], e["kind"], e.get("start"), e.get("target")),
    ),
}
KINDS = {"increase", "decrease", "above", "below", "milestone", "objectives"}


def load_corpus() -> list[dict[str, Any]]:
    data = yaml.safe_load(CORPUS_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


CORPUS = load_corpus()


@dataclass(frozen=True)
class Figures:
    sentences: int
    positives: int
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def evaluate(rule: str, *, heldout_only: bool = False) -> Figures:
    _, judge = RULES[rule]
    tp = fp = fn = n = positives = 0
    for entry in CORPUS:
        if rule not in entry["expect"] or (heldout_only and not entry.get("heldout")):
            continue
        n += 1
        expected = entry["expect"][rule]
        positives += expected
        fired = judge(entry).fires
        tp += fired and expected
        fp += fired and not expected
        fn += expected and not fired
    return Figures(n, positives, tp, fp, fn)


def misjudged(rule: str, *, heldout_only: bool = False) -> list[str]:
    _, judge = RULES[rule]
    return [
        f"{e['text']!r}: expected {e['expect'][rule]}, {judge(e).reason}"
        for e in CORPUS
        if rule in e["expect"]
        and (e.get("heldout") or not heldout_only)
        and judge(e).fires != e["expect"][rule]
    ]


def markdown_table() -> str:
    lines = [
        "| rule | sentences | should fire | precision | recall "
        "| held-out sentences | held-out precision | held-out recall |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for rule in RULES:
        a, h = evaluate(rule), evaluate(rule, heldout_only=True)
        lines.append(
            f"| `{rule}` | {a.sentences} | {a.positives} | {a.precision:.2f} | {a.recall:.2f} "
            f"| {h.sentences} | {h.precision:.2f} | {h.recall:.2f} |"
        )
    return "\n".join(lines)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


# --------------------------------------------------------------------------- corpus


def test_corpus_is_well_formed_and_large_enough() -> None:
    assert len(CORPUS) >= 80
    assert sum(1 for e in CORPUS if e.get("heldout")) >= 20
    texts = [normalise(e["text"]) for e in CORPUS]
    assert len(texts) == len(set(texts)), "duplicate sentences"
    for entry in CORPUS:
        assert set(entry) <= {"text", "type", "kind", "start", "target", "expect", "heldout"}
        assert entry["type"] in ("objective", "key_result"), entry
        for rule, expected in entry["expect"].items():
            assert RULES[rule][0] == entry["type"], entry
            assert isinstance(expected, bool), entry
        if entry["type"] == "key_result":
            assert entry["kind"] in KINDS, entry
            assert set(entry["expect"]) == {"kr-is-task", "kr-not-measurable"}, entry
        else:
            assert set(entry["expect"]) == {"objective-is-metric", "objective-vague"}, entry


def test_corpus_has_positive_and_negative_examples_of_every_rule() -> None:
    for rule in RULES:
        for heldout_only in (False, True):
            figures = evaluate(rule, heldout_only=heldout_only)
            assert 0 < figures.positives < figures.sentences, (rule, heldout_only)


def test_no_corpus_sentence_appears_in_the_code() -> None:
    source = normalise(SOURCE_PATH.read_text(encoding="utf-8"))
    leaked = [e["text"] for e in CORPUS if normalise(e["text"]) in source]
    assert not leaked, f"corpus sentences copied into the code: {leaked}"


def test_wording_has_no_django_import() -> None:
    tree = ast.parse(SOURCE_PATH.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert modules, "the scan found the imports"
    assert "django" not in modules


# --------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("rule", list(RULES))
def test_rule_meets_precision_and_recall_thresholds_on_the_whole_corpus(rule: str) -> None:
    figures = evaluate(rule)
    detail = "\n".join(misjudged(rule))
    assert figures.precision >= MIN_PRECISION, detail
    assert figures.recall >= MIN_RECALL, detail


@pytest.mark.parametrize("rule", list(RULES))
def test_rule_meets_thresholds_on_sentences_written_after_the_code(rule: str) -> None:
    figures = evaluate(rule, heldout_only=True)
    detail = "\n".join(misjudged(rule, heldout_only=True))
    assert figures.precision >= MIN_HELDOUT_PRECISION, detail
    assert figures.recall >= MIN_HELDOUT_RECALL, detail


def test_docs_report_the_computed_figures() -> None:
    doc = DOC_PATH.read_text(encoding="utf-8")
    assert "## Wording rules" in doc
    rows: dict[str, list[str]] = {}
    section = doc[doc.index("### The first corpus") :]
    for line in section.splitlines():
        match = re.match(r"^\|\s*`([a-z-]+)`\s*\|(.*)\|\s*$", line)
        if match and match.group(1) in RULES:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    assert set(rows) == set(RULES), f"rules missing from the table: {set(RULES) - set(rows)}"
    for rule, cells in rows.items():
        a, h = evaluate(rule), evaluate(rule, heldout_only=True)
        sentences, positives, precision, recall, h_sentences, h_precision, h_recall = cells
        assert int(sentences) == a.sentences, rule
        assert int(positives) == a.positives, rule
        assert float(precision) == round(a.precision, 2), rule
        assert float(recall) == round(a.recall, 2), rule
        assert int(h_sentences) == h.sentences, rule
        assert float(h_precision) == round(h.precision, 2), rule
        assert float(h_recall) == round(h.recall, 2), rule


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("serve 1,000 members", 1000.0),
        ("a score of 2.5", 2.5),
        ("10k downloads", 10_000.0),
        ("seven depots", 7.0),
        ("two hundred volunteers", 200.0),
        ("£1.5m in grants", 1_500_000.0),
    ],
)
def test_parse_reads_numbers_in_their_usual_spellings(text: str, value: float) -> None:
    assert parse(text).numbers == (value,)


def test_parse_marks_percentages_and_currency() -> None:
    assert parse("up 12%").has_percent
    assert parse("up 12 percent").has_percent
    assert parse("up 12 per cent").has_percent
    assert not parse("up 12 points").has_percent
    for text in ("$40k of savings", "€3 million pipeline", "£250 per head", "500 euros"):
        assert parse(text).has_currency, text


@pytest.mark.parametrize(
    "text",
    [
        "by Q3 2027",
        "ISO 27001 certification",
        "every Year 9 class",
        "24/7 cover",
        "before 31 March",
        "the 3rd floor",
        "by 5pm",
        "30-day window",
        "over the next 3 years",
    ],
)
def test_parse_does_not_count_dates_names_ordinals_or_scopes_as_measures(text: str) -> None:
    assert parse(text).numbers == ()


def test_parse_finds_the_shapes_that_carry_a_target() -> None:
    assert parse("from 4.0 to 2.5 per 1,000 parcels").has_from_to
    assert parse("12 days → 5 days").has_from_to
    assert not parse("from Lisbon to Porto").has_from_to
    assert parse("by 15%").has_by_amount
    assert parse("by a third").has_by_amount
    assert not parse("by 2030").has_by_amount
    assert parse("at least 4.5").has_bound
    assert parse("no more than 3 a week").has_bound
    assert parse("20 or more").has_bound
    assert parse("down to 40 minutes").has_to_amount
    assert parse("an NPS of 50").has_of_amount
    assert parse("halve the queue").has_multiplier
    assert parse("a 2x lift").has_multiplier


@pytest.mark.parametrize(
    ("word", "base"),
    [
        ("Launched", "launch"),
        ("hosting", "host"),
        ("organised", "organise"),
        ("shipped", "ship"),
        ("running", "run"),
        ("written", "write"),
        ("hires", "hire"),
        ("carried", "carry"),
        ("publishes", "publish"),
        ("re-launch", "launch"),
    ],
)
def test_lemma_strips_inflections(word: str, base: str) -> None:
    assert lemma(word) == base


@pytest.mark.parametrize(
    ("text", "verb"),
    [
        ("We will roll out the tool", "roll out"),
        ("Successfully set up a hub", "set up"),
        ("Rolled out the new rota", "roll out"),
        ("Kicking off the pilot", "kick off"),
        ("To reduce queues", "reduce"),
        ("Training completion rate above 90%", None),
        ("Hiring takes under 30 days", None),
        ("Call answer rate above 92%", None),
        ("Customer churn below 2%", None),
    ],
)
def test_parse_finds_the_leading_verb_and_refuses_nouns_that_look_like_verbs(
    text: str, verb: str | None
) -> None:
    assert parse(text).first_verb == verb


def test_parse_spots_a_count_of_things_done() -> None:
    assert parse("15 workshops delivered to parents").leading_count == "15 workshops delivered"
    assert parse("Four podcasts recorded").leading_count == "four podcasts recorded"
    assert parse("90% of parcels delivered on time").leading_count is None
    assert parse("300 new members joined").leading_count is None  # people chose to: an outcome


# --------------------------------------------------------------------------- judges


def test_verdict_is_truthy_when_the_rule_fires() -> None:
    assert Verdict(True, "x")
    assert not Verdict(False, "x")


def test_reasons_name_what_was_seen() -> None:
    assert '"launch"' in kr_is_task("Launching the partner portal").reason
    assert '"hire"' in kr_is_task("Hired two data engineers").reason
    assert "counts things done" in kr_is_task("6 town halls held").reason
    assert '"reduce"' in kr_is_task("Reduce returns from 9% to 6%").reason
    assert "%" in objective_is_metric("Win 40% of tenders we bid for").reason
    assert "from X to Y" in objective_is_metric("Take NPS from 20 to 45").reason
    assert '"improve"' in objective_vague("Improve our marketing").reason
    assert "without a start" in kr_not_measurable("Grow leads", "increase", None, 500).reason


@pytest.mark.parametrize(
    "title",
    [
        "Raise gross margin from 31% to 35%",
        "Reduce average queue time to 6 minutes",
        "Cut energy per tonne by 8%",
        "Grow repeat customers to 4,000",
        "Keep complaint rate below 0.3%",
        "Reach an average rating of 4.7",
        "Hold stock accuracy at 99% or higher",
        "Deliver 98% of orders in full",
    ],
)
def test_outcome_wording_is_not_a_task_even_with_a_number(title: str) -> None:
    assert not kr_is_task(title, "increase").fires


@pytest.mark.parametrize(
    "title",
    [
        "Launch the tenant app",
        "LAUNCHED THE TENANT APP!",
        "Hosting three open evenings",
        "Set up an on-call rota",
        "Ship 4 features",
        "Run 12 coaching sessions",
        "Eight case studies published",
        "New visitor map printed",
    ],
)
def test_activities_and_counts_of_things_done_are_tasks(title: str) -> None:
    assert kr_is_task(title, "milestone").fires


def test_rolled_up_key_results_are_never_judged_on_wording() -> None:
    assert not kr_is_task("Launch the app", "objectives").fires
    assert not kr_not_measurable("Improve things", "objectives").fires


def test_kr_not_measurable_needs_start_and_target_for_increase_and_decrease() -> None:
    assert kr_not_measurable("Grow sign-ups", "increase", None, None).fires
    assert kr_not_measurable("Grow sign-ups", "increase", 100, None).fires
    assert kr_not_measurable("Cut delays", "decrease", None, 3).fires
    assert kr_not_measurable("Cut delays", "decrease", 3, 3).fires
    assert not kr_not_measurable("Cut delays", "decrease", 9, 3).fires


def test_kr_not_measurable_needs_a_target_for_guard_rails() -> None:
    assert kr_not_measurable("Churn stays low", "below", None, None).fires
    assert not kr_not_measurable("Churn stays low", "below", None, 2).fires
    assert not kr_not_measurable("Uptime", "above", None, 99.9).fires


def test_milestones_that_hide_a_quantity_are_not_measurable() -> None:
    assert kr_not_measurable("Improve first-call resolution", "milestone").fires
    assert kr_not_measurable("Complaints go down", "milestone").fires
    assert kr_not_measurable("Quicker turnaround for repairs", "milestone").fires
    assert kr_not_measurable("Churn below 2%", "milestone").fires
    assert not kr_not_measurable("Tenancy agreement approved by the board", "milestone").fires
    assert not kr_not_measurable("Payroll system live in all regions", "milestone").fires
    assert not kr_not_measurable("Launch the tenant app", "milestone").fires


def test_objective_judges_read_the_number_not_the_year() -> None:
    assert not objective_is_metric("Be the greenest grocer in Wales by 2030").fires
    assert objective_is_metric("Sell 2,030 memberships").fires
    assert objective_is_metric("Reduce readmission rates").fires
    assert not objective_is_metric("Reduce paperwork so nurses spend time with patients").fires


def test_objective_vague_needs_a_concrete_subject_or_qualifier() -> None:
    assert objective_vague("Optimise performance").fires
    assert objective_vague("Customer excellence").fires
    assert objective_vague("Improve onboarding").fires
    assert not objective_vague("Improve onboarding for night-shift agency nurses").fires
    assert not objective_vague("Improve onboarding so new hires ship in week one").fires
    assert not objective_vague("Improve onboarding by 20%").fires


if __name__ == "__main__":
    print(markdown_table())
