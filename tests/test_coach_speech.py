"""The coach's sentences keep how they were made, so a page says them in its reader's language."""

from __future__ import annotations

import pickle

from django.utils import translation

from headway.coach import rules
from headway.coach.verdict import Number, Says, _, joined, ngettext
from headway.speech import spoken


def test_a_sentence_is_its_english_text_and_says_itself_in_german() -> None:
    reason = _('starts with the activity verb "%(verb)s"', verb="launch")
    said = _("Reads like a task: %(reason)s.", reason=reason)
    assert said == 'Reads like a task: starts with the activity verb "launch".'
    with translation.override("de"):
        assert spoken(said) == (
            "Liest sich wie eine Aufgabe: beginnt mit dem Tätigkeitsverb „launch“."
        )
    with translation.override("fr"):
        assert spoken(said) == (
            "Se lit comme une tâche : commence par le verbe d'activité « launch »."
        )
    assert spoken("typed by someone") == "typed by someone"  # not a sentence of the coach


def test_plural_sentences_follow_each_languages_rule() -> None:
    def said(n: int) -> Says:
        return ngettext(
            "%(n)s key result: fewer than two.", "%(n)s key results: fewer than two.", n
        )

    assert [said(0), said(1)] == ["0 key results: fewer than two.", "1 key result: fewer than two."]
    with translation.override("de"):
        assert spoken(said(0)) == "0 Schlüsselergebnisse: weniger als zwei."
    with translation.override("fr"):  # French counts zero as singular
        assert spoken(said(0)) == "0 résultat clé : moins de deux."


def test_numbers_in_sentences_are_written_as_the_reader_writes_them() -> None:
    said = _(
        "Averaged %(earlier_grade)s in %(earlier)s and %(later_grade)s in %(later)s.",
        earlier_grade=Number(0.35, ".2f"),
        earlier="2026-Q1",
        later_grade=Number(0.9, ".2f"),
        later="2026-Q2",
    )
    assert said == "Averaged 0.35 in 2026-Q1 and 0.90 in 2026-Q2."
    with translation.override("de"):
        assert spoken(said) == "Im Mittel 0,35 in 2026-Q1 und 0,90 in 2026-Q2."
    with translation.override("de"):
        assert spoken(_('asks for a percentage ("%(text)s %%")', text="5")) == (
            "verlangt einen Prozentsatz („5 %“)"
        )
    assert str(Number(0.8, ".0%")) == "80%"


def test_a_sentence_survives_the_cache() -> None:
    said = _("The card lacks %(parts)s.", parts=joined([_("an owner"), _("a target")]))
    again = pickle.loads(pickle.dumps(said))
    assert again == said == "The card lacks an owner and a target."
    with translation.override("de"):
        assert spoken(again) == "Auf der Karte fehlt: eine verantwortliche Person und ein Zielwert."
    three = joined([_("an owner"), _("a review cadence"), _("a why")])
    assert three == "an owner, a review cadence and a why"
    with translation.override("fr"):
        assert spoken(three) == "un propriétaire, un rythme d'examen et un pourquoi"


def test_every_rules_principle_and_fix_is_a_sentence_of_the_catalogue() -> None:
    with translation.override("de"):
        for rule in rules.RULES.values():
            assert isinstance(rule.principle, Says), rule.id
            assert isinstance(rule.fix, Says), rule.id
            assert spoken(rule.principle) != rule.principle, rule.id
            assert spoken(rule.fix) != rule.fix, rule.id
