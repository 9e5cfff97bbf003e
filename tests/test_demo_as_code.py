"""The demo organisation as code: `lint` finds exactly the planted mistakes, and `score`
on the exported file gives the numbers the database-backed pages show."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import time_machine

from headway.coach.files import lint_document
from headway.demo import PLANTED, load_demo
from headway.document.evaluate import score_document
from headway.document.exporter import export_text
from headway.document.load import load_texts
from headway.document.schema import Document
from headway.kpis.models import Kpi
from headway.okrs.models import Cycle
from headway.okrs.stored import cycle_tree

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)


@pytest.fixture
def exported() -> Iterator[Document]:
    with time_machine.travel(NOW, tick=False):
        load_demo(today=TODAY)
        yield load_texts([("demo.yaml", export_text())])


def test_lint_on_the_demo_export_finds_the_planted_problems_and_nothing_else(
    exported: Document,
) -> None:
    found = {(finding.rule, finding.path) for finding, _, _ in lint_document(exported, NOW)}
    assert found == set(PLANTED.items())


def test_score_on_the_demo_export_matches_the_database(exported: Document) -> None:
    result = score_document(exported, NOW)
    cycle = Cycle.objects.get(state="active")
    assert result["cycle"] == cycle.key
    tree = cycle_tree(cycle, at=NOW)
    assert tree.objectives
    for objective in tree.objectives:
        mine = tree.objective_result(objective)
        theirs = result["objectives"][objective.key]
        assert theirs["score"] == pytest.approx(mine.score, abs=1e-9)
        assert (theirs["status"], theirs["grade_band"]) == (mine.status, mine.grade_band)
        for kr in tree.key_results_of(objective):
            db = tree.key_result_result(kr)
            file = result["key_results"][f"{objective.key}/{kr.key}"]
            assert file["score"] == pytest.approx(db.score, abs=1e-9), kr.key
            assert file["status"] == db.status, kr.key
            assert file["forecast"] == pytest.approx(db.forecast, abs=1e-9), kr.key
    for team, score in tree.evaluation.teams.items():
        assert result["teams"][team]["score"] == pytest.approx(score, abs=1e-9)
    for kpi in Kpi.objects.all():
        evaluation = kpi.evaluate(at=NOW)
        assert result["kpis"][kpi.key]["health"] == evaluation.health, kpi.key
        assert result["kpis"][kpi.key]["trend"] == evaluation.trend, kpi.key
