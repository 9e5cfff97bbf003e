"""An import writes the series of KPIs without measurements in bulk, with the end state of
the ingestion path: every measurement, revision, KPI state, key result, stored score,
history row and notification the same."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.management.color import no_style
from django.db import connection, models, transaction

from headway.demo_large import load_large_demo
from headway.document import importer
from headway.document.exporter import export_text
from headway.document.importer import import_document, load_texts_for_import
from headway.document.load import DocumentError
from headway.kpis import bulk as bulk_writes
from headway.kpis.models import Kpi, Measurement, MeasurementRevision
from headway.notify.models import Event, Notification
from headway.okrs.models import CheckIn, KeyResult, Objective

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture
def generated(db: None) -> str:
    """The export of a small generated organisation (10 KPIs, 1,096 measurements each)."""
    with transaction.atomic():
        load_large_demo(seed=7, scale=0.01, today=TODAY)
        text = export_text()
        transaction.set_rollback(True)
    return text


def _kpi_blocks(text: str) -> Iterator[tuple[int, int]]:
    """(first line, end line) of each KPI entry of an export, by line index."""
    lines = text.splitlines()
    start = lines.index("kpis:")
    heads = [i for i in range(start + 1, len(lines)) if lines[i].startswith("  - key: ")]
    yield from zip(heads, [*heads[1:], len(lines)], strict=True)


def _edited(text: str, *, drop_from: int, change_below: int) -> str:
    """The export with the measurements of KPIs from index `drop_from` on left out and every
    seventh value of the KPIs below `change_below` changed (so the real one replaces it)."""
    lines = text.splitlines()
    out = list(lines)
    for n, (first, end) in enumerate(_kpi_blocks(text)):
        for i in range(first, end):
            line = lines[i]
            if n >= drop_from and (line == "    measurements:" or line.startswith("      - {at:")):
                out[i] = "\0"
            elif n < change_below and line.startswith("      - {at:") and i % 7 == 0:
                out[i] = re.sub(
                    r"value: ([-0-9.e+]+)", lambda m: f"value: {float(m[1]) + 1!r}", line
                )
    return "\n".join(line for line in out if line != "\0") + "\n"


def _reset_sequences() -> None:
    """Ids from 1 again after a rollback (PostgreSQL's sequences do not roll back; SQLite's
    do), so both imports give their rows the same ids."""
    if connection.vendor != "postgresql":
        return
    from django.apps import apps

    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _rows(model: type[models.Model], order: tuple[str, ...], drop: tuple[str, ...] = ()) -> Any:
    return [
        {k: v for k, v in row.items() if k not in drop}
        for row in model._default_manager.order_by(*order).values()
    ]


def _state() -> dict[str, Any]:
    """Everything an import writes or leads to, measurement ids aside (the two paths insert
    in another order: by source and batch, or KPI by KPI)."""
    kpi_keys = dict(Kpi.objects.values_list("pk", "key"))
    measurement_of = {
        pk: (kpi_keys[kpi_id], at)
        for pk, kpi_id, at in Measurement.objects.values_list("pk", "kpi_id", "at")
    }
    return {
        "measurements": sorted(
            (
                kpi_keys[m["kpi_id"]],
                m["at"],
                m["value"],
                m["source"],
                m["note"],
                m["created_at"],
                m["updated_at"],
            )
            for m in Measurement.objects.values()
        ),
        "revisions": sorted(
            (
                measurement_of[r["measurement_id"]],
                r["old_value"],
                r["old_source"],
                r["old_note"],
                r["replaced_at"],
                r["replaced_by_id"],
            )
            for r in MeasurementRevision.objects.values()
        ),
        "kpis": _rows(Kpi, ("pk",)),
        "kpi history": _rows(Kpi.history.model, ("history_id",)),
        "objectives": _rows(Objective, ("pk",)),
        "key results": _rows(KeyResult, ("pk",)),
        "check-ins": _rows(CheckIn, ("pk",)),
        "events": _rows(Event, ("dedupe_key",), drop=("id",)),
        "notifications": sorted(
            Notification.objects.values_list("person_id", "event__dedupe_key", "created_at")
        ),
    }


def _both_ways(
    monkeypatch: pytest.MonkeyPatch, text: str, before: Callable[[], None] = lambda: None
) -> tuple[dict[str, Any], dict[str, Any], importer.ImportResult, importer.ImportResult]:
    """The state after importing `text` through the ingestion only, and in bulk."""
    _reset_sequences()
    with transaction.atomic():
        before()
        with monkeypatch.context() as patched:
            patched.setattr(importer._Importer, "empty_kpis", lambda self, order: {})
            ingested = import_document(load_texts_for_import([("org.yaml", text)]), now=NOW)
        assert ingested.counts["measurements"].created > 0
        old = _state()
        transaction.set_rollback(True)
    _reset_sequences()
    before()
    written: list[int] = []
    insert = bulk_writes.insert_series

    def counted(rows: Any, **options: Any) -> int:
        written.append(insert(rows, **options))
        return written[-1]

    with monkeypatch.context() as patched:
        patched.setattr(bulk_writes, "insert_series", counted)
        bulk = import_document(load_texts_for_import([("org.yaml", text)]), now=NOW)
    assert len(written) == 1, "one bulk insert for every new series"
    assert written[0] > 0
    return old, _state(), ingested, bulk


def _same(old: dict[str, Any], new: dict[str, Any]) -> None:
    for kind in old:
        assert new[kind] == old[kind], kind


@pytest.mark.django_db
@pytest.mark.frozen(NOW)
def test_an_import_into_an_empty_database_ends_as_through_the_ingestion(
    monkeypatch: pytest.MonkeyPatch, generated: str
) -> None:
    old, new, ingested, bulk = _both_ways(monkeypatch, generated)
    _same(old, new)
    assert str(bulk) == str(ingested)
    assert len(new["measurements"]) == 10 * 1096
    assert any(kpi["health"] in ("warning", "critical") for kpi in new["kpis"])
    assert any(kr["kpi_id"] is not None and kr["current"] is not None for kr in new["key results"])
    assert new["events"], "the generated organisation's KPIs announce their health"


@pytest.mark.django_db
@pytest.mark.frozen(NOW)
def test_kpis_with_stored_measurements_still_go_through_the_ingestion(
    monkeypatch: pytest.MonkeyPatch, generated: str
) -> None:
    """Half the KPIs hold measurements (some with other values) before the import: theirs
    are merged and revised by the ingestion, the other half's written in bulk."""
    earlier = _edited(generated, drop_from=5, change_below=5)

    def preload() -> None:
        import_document(load_texts_for_import([("org.yaml", earlier)]), now=NOW)

    old, new, ingested, bulk = _both_ways(monkeypatch, generated, preload)
    _same(old, new)
    assert str(bulk) == str(ingested)
    assert new["revisions"], "the changed values were replaced, the old ones kept"
    assert bulk.counts["measurements"].updated == len(new["revisions"])
    assert bulk.counts["measurements"].created == 5 * 1096


@pytest.mark.django_db
@pytest.mark.frozen(NOW)
def test_a_failure_after_the_bulk_write_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, generated: str
) -> None:
    def failing(**_: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("headway.okrs.stored.rescore_all", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        import_document(load_texts_for_import([("org.yaml", generated)]), now=NOW)
    assert not Measurement.objects.exists()
    assert not Kpi.objects.exists()
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_a_measurement_the_ingestion_would_refuse_is_named_by_its_line() -> None:
    text = """\
version: 1
teams:
  - {key: acme, name: Acme, kind: company}
kpis:
  - key: nps
    name: Net promoter score
    team: acme
    measurements:
      - {at: 2026-01-01, value: 40}
      - {at: 1850-01-01, value: 41}
      - {at: 2026-01-02, value: 2.0e+15}
"""
    with pytest.raises(DocumentError) as info:
        import_document(load_texts_for_import([("okrs.yaml", text)]))
    assert [str(p) for p in info.value.errors] == [
        "okrs.yaml:10: kpis[0].measurements[1]: at: the year must be between 1900 and 2999",
        "okrs.yaml:11: kpis[0].measurements[2].value: 2000000000000000.0 is out of range "
        "(at most ±1e15)",
    ]
    assert not Kpi.objects.exists()


@pytest.mark.django_db
@pytest.mark.frozen(NOW)
def test_new_objectives_and_key_results_get_the_history_simple_history_writes(
    generated: str,
) -> None:
    """Inserted without bulk_create_with_history: each new row has one `+` entry by the
    system with the import's reason and the row's tracked fields, as that would write."""
    import_document(load_texts_for_import([("org.yaml", generated)]), now=NOW)
    for model in (Objective, KeyResult):
        history = model.history.model
        tracked = [f.attname for f in history.tracked_fields]
        rows = {row["id"]: row for row in model._default_manager.values(*tracked)}
        entries = list(history.objects.values(*tracked, "history_type", "history_change_reason",
                                              "history_user_id", "history_date"))  # fmt: skip
        assert len(entries) == len(rows) > 0
        for entry in entries:
            assert {name: entry[name] for name in tracked} == rows[entry["id"]]
            assert (entry["history_type"], entry["history_change_reason"]) == (
                "+",
                "headway import",
            )
            assert (entry["history_user_id"], entry["history_date"]) == (None, NOW)
