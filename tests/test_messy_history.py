"""Messy history is a finding, not a refusal: late, early and same-day check-ins (okrs.timing).

One rule for every path: `lint`, `score` and `import` of a file, the database's coach and
scores, and the web/API check-in action.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from headway.cli import app
from headway.coach.db import findings, findings_for_objective
from headway.coach.files import lint_document
from headway.document.evaluate import score_document
from headway.document.exporter import export_text
from headway.document.importer import import_document, load_for_import
from headway.document.load import load_documents, load_texts
from headway.okrs import timing
from headway.okrs.actions import record_checkin
from headway.okrs.models import CheckIn, KeyResult, Objective
from headway.okrs.tree import load_cycle_tree

DATA = Path(__file__).resolve().parent / "data" / "documents"
MESSY = DATA / "messy-history.yaml"
runner = CliRunner()
MID = "2027-03-15"


# --------------------------------------------------------------------------- the file path


def test_lint_keeps_messy_history_and_warns_about_early_checkins() -> None:
    result = runner.invoke(app, ["lint", str(MESSY), "--at", MID, "--format", "json"])
    # Warnings only: exit 0 under PRODUCT.md's contract, never 2 (the file is not refused).
    assert result.exit_code == 0, result.output
    found = [f for f in json.loads(result.output) if f["rule"] == "checkin-before-cycle"]
    assert [(f["path"], f["severity"]) for f in found] == [
        ("objectives/calm/key_results/claims", "warning"),
        ("objectives/calm/key_results/pages", "warning"),
    ]
    by_path = {f["path"]: f for f in found}
    pages = by_path["objectives/calm/key_results/pages"]
    assert "A check-in at 2026-12-20 is dated before q1 starts (2027-01-01)" in pages["message"]
    assert pages["line"] == 17
    claims = by_path["objectives/calm/key_results/claims"]
    assert "2 check-ins, the first at 2026-12-28" in claims["message"]
    # Nothing about the late or the same-day check-ins.
    assert all("2027-04-03" not in f["message"] and "2027-02-01" not in f["message"] for f in found)


def test_lint_strict_exits_1_with_the_warnings_not_2() -> None:
    result = runner.invoke(app, ["lint", str(MESSY), "--at", MID, "--strict"])
    assert result.exit_code == 1, result.output
    assert "checkin-before-cycle" in result.output
    assert "warning" in result.output


def test_score_uses_the_later_of_two_same_day_values() -> None:
    result = runner.invoke(
        app, ["score", str(MESSY), "--at", MID, "--cycle", "q1", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)["key_results"]
    # pages: 20 -> 5, latest is the second 2027-02-01 value, 14: (14 - 20) / (5 - 20).
    assert scores["calm/pages"]["current"] == 14
    assert scores["calm/pages"]["score"] == pytest.approx(0.4)
    # claims: three at 2027-03-10; the last given (3.5) is the latest.
    assert scores["calm/claims"]["current"] == 3.5
    assert scores["calm/claims"]["score"] == pytest.approx(0.25)


def test_a_late_checkin_counts_from_its_moment() -> None:
    doc = load_documents([MESSY])
    after = score_document(doc, datetime(2027, 4, 10, tzinfo=UTC), "q1")
    assert after["key_results"]["calm/pages"]["current"] == 8


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("value: 14,", "value: fourteen,", "must be a valid number, got 'fourteen'"),
        ("{at: 2027-02-01, value: 15}", "{at: 2027-02-01, note: typed}", "needs a `value`"),
        ('note: "corrected', 'nite: "corrected', "unknown field 'nite'"),
    ],
)
def test_errors_stay_errors_where_data_would_be_lost_or_ambiguous(
    tmp_path: Path, old: str, new: str, fragment: str
) -> None:
    text = MESSY.read_text()
    assert old in text
    path = tmp_path / "okrs.yaml"
    path.write_text(text.replace(old, new))
    for command in (["lint", str(path), "--at", MID], ["score", str(path), "--at", MID]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert fragment in result.output


# --------------------------------------------------------------------------- the database path


@pytest.mark.django_db
def test_import_writes_everything_in_file_order_and_exports_it_back() -> None:
    doc = load_for_import([MESSY])
    result = import_document(doc, now=datetime(2027, 3, 15, tzinfo=UTC))
    assert result.counts["checkins"].created == 9
    pages = KeyResult.objects.get(key="pages")
    rows = list(pages.checkins.values_list("at", "ordinal", "value"))
    day = datetime(2027, 2, 1, tzinfo=UTC)
    assert rows == [
        (datetime(2026, 12, 20, tzinfo=UTC), 0, 21.0),
        (day, 0, 15.0),
        (day, 1, 14.0),
        (datetime(2027, 4, 3, tzinfo=UTC), 0, 8.0),
    ]
    claims = KeyResult.objects.get(key="claims")
    assert claims.current == 3.5  # the last given of the three same-day values
    # Importing again changes nothing; the export writes the same-day check-ins in order.
    again = import_document(load_for_import([MESSY]), now=datetime(2027, 3, 15, tzinfo=UTC))
    assert again.changed == 0
    exported = load_texts([("export.yaml", export_text())])
    original = load_documents([MESSY])
    for (_, kr_out), (_, kr_in) in zip(exported.key_results(), original.key_results(), strict=True):
        assert [(c.at, c.value) for c in kr_out.checkins] == [
            (c.at, c.value) for c in kr_in.checkins
        ]


@pytest.mark.django_db
def test_file_and_database_score_messy_history_alike() -> None:
    import_document(load_for_import([MESSY]), now=datetime(2027, 3, 15, tzinfo=UTC))
    objective = Objective.objects.select_related("cycle").get(key="calm")
    for moment in (datetime(2027, 2, 1, 12, tzinfo=UTC), datetime(2027, 3, 15, tzinfo=UTC)):
        from_file = score_document(load_documents([MESSY]), moment, "q1")
        tree = load_cycle_tree(objective.cycle, at=moment)
        for key in ("pages", "claims"):
            stored = tree.evaluation.key_results[("calm", key)]
            assert stored.current == from_file["key_results"][f"calm/{key}"]["current"]
            assert stored.score == pytest.approx(from_file["key_results"][f"calm/{key}"]["score"])
    # The stored scores (all history) agree with the file scored after the late update.
    late = score_document(load_documents([MESSY]), datetime(2027, 4, 10, tzinfo=UTC), "q1")
    assert KeyResult.objects.get(key="pages").score == pytest.approx(
        late["key_results"]["calm/pages"]["score"]
    )


@pytest.mark.django_db
def test_the_database_coach_warns_about_early_checkins_like_lint() -> None:
    import_document(load_for_import([MESSY]), now=datetime(2027, 3, 15, tzinfo=UTC))
    at = datetime(2027, 3, 15, tzinfo=UTC)
    on_file = {
        (f.path, f.message)
        for f, _file, _line in lint_document(load_documents([MESSY]), at)
        if f.rule == "checkin-before-cycle"
    }
    in_db = {(f.path, f.message) for f in findings(at) if f.rule == "checkin-before-cycle"}
    scoped = {
        (f.path, f.message)
        for f in findings_for_objective(Objective.objects.get(key="calm"), at)
        if f.rule == "checkin-before-cycle"
    }
    assert len(on_file) == 2
    assert on_file == in_db == scoped


@pytest.mark.django_db
def test_the_sql_boundary_is_the_timing_rule(org: Any) -> None:
    """`CheckIn.objects.before_cycle()` finds exactly what `timing` calls early."""
    objective = Objective.objects.create(key="edge", cycle=org.cycle, team=org.depot, title="E")
    kr = KeyResult.objects.create(objective=objective, key="k", title="K")
    start = datetime(2027, 1, 1, tzinfo=UTC)
    offsets = [-86_400_000_000, -1, 0, 1, 3_600_000_000, 90 * 86_400_000_000]
    moments = [start + timedelta(microseconds=us) for us in offsets]
    for at in moments:
        CheckIn.objects.create(key_result=kr, at=at, value=1)
    early = set(CheckIn.objects.filter(key_result=kr).before_cycle().values_list("at", flat=True))
    expected = {
        at for at in moments if timing.checkin_timing(at, org.cycle.start, org.cycle.end) == "early"
    }
    assert early == expected == set(moments[:2])


# --------------------------------------------------------------------------- web and API action


@pytest.mark.django_db
@pytest.mark.frozen(datetime(2027, 4, 5, 12, tzinfo=UTC))
def test_the_checkin_action_accepts_late_early_and_same_moment_checkins(org: Any) -> None:
    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, title="Calm", owner=org.member
    )
    kr = KeyResult.objects.create(
        objective=objective, key="pages", title="Pages 20 to 5", kind="decrease", start=20, target=5
    )
    day = datetime(2027, 2, 1, tzinfo=UTC)
    record_checkin(key_result=kr, by=org.member, value=21, at=datetime(2026, 12, 20, tzinfo=UTC))
    record_checkin(key_result=kr, by=org.member, value=15, at=day, confidence=4)
    second = record_checkin(key_result=kr, by=org.member, value=14, at=day)
    assert (second.ordinal, second.confidence) == (1, 4)  # after the first of that moment
    kr.refresh_from_db()
    assert kr.current == 14
    record_checkin(key_result=kr, by=org.member, value=8)  # now: after the cycle's end
    kr.refresh_from_db()
    assert kr.current == 8
    assert kr.checkins.count() == 4
    rules = {f.rule for f in findings_for_objective(objective)}
    assert "checkin-before-cycle" in rules


@pytest.mark.django_db
@pytest.mark.frozen(datetime(2027, 4, 5, 12, tzinfo=UTC))
def test_the_checkin_page_says_a_late_update_is_kept(org: Any) -> None:
    from headway.web.testing import client_for

    objective = Objective.objects.create(
        key="calm", cycle=org.cycle, team=org.depot, title="Calm", owner=org.member
    )
    kr = KeyResult.objects.create(objective=objective, key="k", title="K 1 to 2", start=1, target=2)
    client = client_for(org.member)
    response = client.post(
        f"/teams/{org.depot.key}/checkin/", {f"kr-{kr.pk}-value": "1.5"}, follow=True
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "kept as a late update" in text
    assert kr.checkins.count() == 1


def test_timing_and_ordinals() -> None:
    start, end = date(2027, 1, 1), date(2027, 3, 31)
    assert timing.checkin_timing(datetime(2026, 12, 31, 23, 59, tzinfo=UTC), start, end) == "early"
    assert timing.checkin_timing(datetime(2027, 1, 1, tzinfo=UTC), start, end) == "within"
    assert timing.checkin_timing(datetime(2027, 3, 31, 23, 59, tzinfo=UTC), start, end) == "within"
    assert timing.checkin_timing(datetime(2027, 4, 1, tzinfo=UTC), start, end) == "late"
    d1, d2 = datetime(2027, 1, 5, tzinfo=UTC), datetime(2027, 1, 6, tzinfo=UTC)
    assert timing.ordinals([d1, d2, d1, d1, d2]) == [0, 0, 1, 2, 1]


@pytest.mark.django_db
@pytest.mark.frozen(datetime(2027, 4, 5, 12, tzinfo=UTC))
def test_the_api_takes_early_and_same_moment_checkins_like_a_file(org: Any) -> None:
    from headway.api.testing import ApiClient, token_for

    objective = Objective.objects.create(key="calm", cycle=org.cycle, team=org.depot, title="C")
    KeyResult.objects.create(objective=objective, key="k", title="K 20 to 5", start=20, target=5)
    api = ApiClient(token_for(org.member))
    path = "/objectives/calm/key-results/k/checkins"
    for at, value in (("2026-12-20T00:00:00Z", 21), ("2027-02-01T00:00:00Z", 15),
                      ("2027-02-01T00:00:00Z", 14)):  # fmt: skip
        response = api.post(path, {"value": value, "at": at})
        assert response.status_code == 201, response.json()
    listed = api.get(path).json()["items"]
    assert [c["value"] for c in listed] == [14, 15, 21]  # latest first: the later of the pair
    assert KeyResult.objects.get(key="k").current == 14
    found = api.get("/coach/findings", {"rule": "checkin-before-cycle"}).json()["items"]
    assert [f["path"] for f in found] == ["objectives/calm/key_results/k"]
