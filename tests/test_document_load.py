"""The YAML format: the example loads, files combine, and every error names file, line, field."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from headway.document import schema
from headway.document.evaluate import CycleSelectionError, score_document
from headway.document.load import DocumentError, Problem, load_documents, load_texts
from headway.document.schema import Document, document_json_schema

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "documents"
EXAMPLE = ROOT / "docs" / "examples" / "northwind.yaml"
SHIPPED_SCHEMA = ROOT / "src" / "headway" / "document" / "headway.schema.json"


def problems_of(*paths: Path | str) -> list[Problem]:
    with pytest.raises(DocumentError) as info:
        load_documents(list(paths))
    return info.value.errors


def texts_problems(*texts: str) -> list[Problem]:
    with pytest.raises(DocumentError) as info:
        load_texts([(f"f{i}.yaml", text) for i, text in enumerate(texts)])
    return info.value.errors


# --------------------------------------------------------------------------- the example


def test_example_loads_without_errors() -> None:
    doc = load_documents([EXAMPLE])
    assert {t.key for t in doc.teams} >= {"northwind", "ops"}
    assert doc.objectives_by_key["reliable-deliveries"].type == "committed"
    assert doc.kpis_by_key["on-time-rate"].cadence == "weekly"


def _fields_set(model: BaseModel, found: dict[type[BaseModel], set[str]]) -> None:
    found.setdefault(type(model), set()).update(model.model_fields_set)
    for name in type(model).model_fields:
        value = getattr(model, name)
        # a loaded KPI keeps its measurements in a MeasurementSeries, not a list
        for item in value if isinstance(value, list | schema.MeasurementSeries) else [value]:
            if isinstance(item, BaseModel):
                _fields_set(item, found)


def test_example_uses_every_field_of_the_format() -> None:
    found: dict[type[BaseModel], set[str]] = {}
    _fields_set(load_documents([EXAMPLE]), found)
    models: list[type[BaseModel]] = [
        schema.Document,
        schema.Team,
        schema.Person,
        schema.Membership,
        schema.Cycle,
        schema.Objective,
        schema.CoachSettings,
        schema.KeyResult,
        schema.CheckIn,
        schema.Kpi,
        schema.TargetStep,
        schema.Measurement,
    ]
    missing = {
        m.__name__: sorted(set(m.model_fields) - found.get(m, set()))
        for m in models
        if set(m.model_fields) - found.get(m, set())
    }
    assert not missing


def test_example_uses_every_kind_and_choice() -> None:
    doc = load_documents([EXAMPLE])
    kinds = {kr.kind for _, kr in doc.key_results()}
    assert kinds == {"increase", "decrease", "above", "below", "milestone", "objectives"}
    assert {t.kind for t in doc.teams} == {"company", "department", "team"}
    assert {o.visibility for o in doc.objectives} == {"public", "private"}
    assert {k.direction for k in doc.kpis} == {"up", "down"}
    assert {k.tier for k in doc.kpis} == {"key", "diagnostic"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


def test_shipped_json_schema_equals_the_generated_one() -> None:
    shipped = json.loads(SHIPPED_SCHEMA.read_text())
    assert shipped == document_json_schema(), (
        "regenerate: python -c 'from headway.document.schema import document_json_schema_text;"
        ' print(document_json_schema_text(), end="")\' > src/headway/document/headway.schema.json'
    )
    assert SHIPPED_SCHEMA.read_text() == schema.document_json_schema_text()


def test_json_schema_accepts_the_example_and_refuses_unknown_fields() -> None:
    validator = jsonschema_rs.validator_for(json.loads(SHIPPED_SCHEMA.read_text()))
    data = _jsonable(yaml.safe_load(EXAMPLE.read_text()))
    assert validator.is_valid(data)
    data["objectives"][0]["key_results"][0]["tagret"] = 5
    assert not validator.is_valid(data)


# --------------------------------------------------------------------------- several files


def test_several_files_read_as_one_document() -> None:
    org, okrs = DATA / "split-org.yaml", DATA / "split-okrs.yaml"
    doc = load_documents([org, okrs])
    assert [t.key for t in doc.teams] == ["acme", "web"]
    assert doc.objectives_by_key["calm-site"].key_results[0].kpi == "uptime"
    # Each part remembers its own file and line.
    assert doc.locate(("objectives", 0)) == (str(okrs), 4)
    assert doc.locate("kpis/uptime") == (str(org), 11)
    assert doc.locate("objectives/calm-site/key_results/pages") == (str(okrs), 11)
    assert doc.line_of(("teams", 1, "parent")) == 5
    assert doc.file_of("people/sam@acme.test") == str(org)


def test_a_file_alone_misses_the_references_of_the_other() -> None:
    problems = problems_of(DATA / "split-okrs.yaml")
    fields = {p.field_path for p in problems}
    assert fields == {
        "objectives[0].cycle",
        "objectives[0].team",
        "objectives[0].owner",
        "objectives[0].key_results[0].kpi",
    }


def test_sections_concatenate_in_file_order() -> None:
    first = "version: 1\nteams:\n  - {key: a, name: A, kind: company}\n"
    second = "version: 1\nteams:\n  - {key: b, name: B, parent: a}\n"
    doc = load_texts([("one.yaml", first), ("two.yaml", second)])
    assert [t.key for t in doc.teams] == ["a", "b"]
    assert doc.locate(("teams", 1)) == ("two.yaml", 3)


def test_duplicates_across_files_name_both_places() -> None:
    text = "version: 1\nteams:\n  - {key: a, name: A, kind: company}\n"
    problems = texts_problems(text, text)
    assert [str(p) for p in problems] == [
        "f1.yaml:3: teams[0].key: duplicate team key 'a' (first at f0.yaml:3)"
    ]


# --------------------------------------------------------------------------- error kinds


@pytest.mark.parametrize(
    ("fixture", "line", "field_path", "fragment"),
    [
        ("bad-unknown-field", 16, "objectives[0].key_results[0].tagret", "did you mean 'target'"),
        ("bad-wrong-type", 15, "objectives[0].key_results[0].start", "valid number"),
        ("bad-missing-reference", 17, "objectives[0].key_results[0].kpi", "unknown KPI"),
        ("bad-duplicate-key", 5, "teams[2].key", "duplicate team key 'web'"),
        ("bad-alignment-cycle", 10, "objectives[0].parent", "first -> second -> first"),
        ("bad-team-loop", 4, "teams[1].parent", "team parent loop: a -> b -> a"),
        ("bad-cycle-dates", 3, "cycles[0].end", "ends (2027-01-01) before it starts"),
        ("bad-yaml-syntax", 7, "", "YAML syntax error"),
        ("bad-version", 1, "version", "unsupported format version 2"),
        ("bad-missing-version", 1, "version", "missing `version: 1`"),
        ("bad-empty", 1, "", "the file is empty"),
        ("bad-not-mapping", 1, "", "must be a mapping"),
    ],
)
def test_each_error_kind_names_file_line_and_field(
    fixture: str, line: int, field_path: str, fragment: str
) -> None:
    path = DATA / f"{fixture}.yaml"
    problems = problems_of(path)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert (problem.file, problem.line, problem.field_path) == (str(path), line, field_path)
    assert fragment in problem.message
    prefix = f"{path}:{line}: {field_path}: " if field_path else f"{path}:{line}: "
    assert str(problem).startswith(prefix)


def test_all_errors_are_reported_at_once() -> None:
    path = DATA / "bad-many.yaml"
    problems = problems_of(path)
    assert [(p.line, p.field_path) for p in problems] == [
        (4, "teams[0].colour"),
        (6, "people[0].role"),
        (11, "objectives[0].cycle"),
        (13, "objectives[0].owner"),
        (16, "objectives[0].key_results[0].weight"),
        (17, "objectives[0].key_results[1].key"),
        (22, "kpis[0].team"),
    ]
    assert all(p.file == str(path) for p in problems)
    rendered = str(DocumentError(problems)).splitlines()
    assert rendered[0] == (
        f"{path}:4: teams[0].colour: unknown field 'colour' "
        "(allowed: checkin_cadence_days, key, kind, name, parent)"
    )
    assert len(rendered) == len(problems)


def test_errors_of_several_files_come_in_file_order() -> None:
    bad_type, bad_field = DATA / "bad-wrong-type.yaml", DATA / "bad-unknown-field.yaml"
    problems = problems_of(bad_type, bad_field)
    # The two files define the same team, cycle and objective: duplicates are reported too.
    assert [p.file for p in problems] == sorted(
        (p.file for p in problems), key=[str(bad_type), str(bad_field)].index
    )
    assert {(p.file, p.field_path) for p in problems} >= {
        (str(bad_type), "objectives[0].key_results[0].start"),
        (str(bad_field), "objectives[0].key_results[0].tagret"),
        (str(bad_field), "teams[0].key"),
    }


def test_an_invalid_item_still_counts_as_defined() -> None:
    # The team has a bad field; the objective's reference to it is not a second error.
    problems = texts_problems(
        "version: 1\n"
        "teams:\n"
        "  - {key: a, name: A, kind: company, size: 3}\n"
        "cycles:\n"
        "  - {key: q, start: 2027-01-01, end: 2027-03-31}\n"
        "objectives:\n"
        "  - {key: o, cycle: q, team: a, title: T}\n"
    )
    assert [p.field_path for p in problems] == ["teams[0].size"]


def test_a_missing_required_field_points_at_its_item() -> None:
    problems = texts_problems("version: 1\nteams:\n  - key: a\n    kind: company\n")
    assert [(p.line, p.field_path, p.message) for p in problems] == [
        (3, "teams[0].name", "required field is missing")
    ]


def test_a_field_written_twice_is_an_error() -> None:
    problems = texts_problems(
        "version: 1\nteams:\n  - key: a\n    kind: company\n    name: A\n    name: B\n"
    )
    assert len(problems) == 1
    assert (problems[0].line, problems[0].field_path) == (6, "teams[0].name")
    assert "written twice (first on line 5)" in problems[0].message


@pytest.mark.parametrize(
    ("text", "field_path", "fragment"),
    [
        ("teams:\n  - {key: a b, name: A, kind: company}\n", "teams[0].key", "letters, digits"),
        ("cycles:\n  - {key: q, start: 2027, end: 2027-03-31}\n", "cycles[0].start", "ISO"),
        ("objectives: {key: o}\n", "objectives", "must be a list"),
        ("team:\n  - {key: a, name: A}\n", "team", "did you mean 'teams'"),
        ("teams:\n  - just-a-key\n", "teams[0]", "must be a mapping"),
        ("kpis:\n  - {key: k, name: K, team: a, tier: vital}\n", "kpis[0].tier", "'key' or"),
    ],
)
def test_wrong_values_are_named_plainly(text: str, field_path: str, fragment: str) -> None:
    problems = texts_problems("version: 1\n" + text)
    assert field_path in [p.field_path for p in problems]
    message = next(p.message for p in problems if p.field_path == field_path)
    assert fragment in message


def test_checkin_rules() -> None:
    base = (
        "version: 1\n"
        "teams: [{key: a, name: A, kind: company}]\n"
        "cycles: [{key: q, start: 2027-01-01, end: 2027-03-31}]\n"
        "objectives:\n"
        "  - key: o\n"
        "    cycle: q\n"
        "    team: a\n"
        "    title: T\n"
        "    key_results:\n"
        "      - key: k\n"
        "        title: K\n"
        "        checkins:\n"
    )
    problems = texts_problems(
        base + "          - {at: 2027-01-05, confidence: 3}\n"
        "          - {at: '2027-02-01T10:00:00Z', value: 1}\n"
        "          - {at: '2027-02-01T11:00:00+01:00', value: 2, author: nobody@a.test}\n"
        "          - {at: '2027-03-31T23:59:59', value: 3}\n"
        "          - {at: 2027-04-01, value: 4}\n"
        "          - {at: 2027-02-02, value: 4, confidence: 11}\n"
    )
    # Two check-ins at one moment (lines 14 and 15) and one after the cycle (line 17) are
    # messy history, not errors (okrs.timing).
    assert [(p.line, p.message.split(" (")[0]) for p in problems] == [
        (13, "a check-in needs a `value` or `done`"),
        (15, "unknown person 'nobody@a.test'"),
        (18, "must be less than or equal to 10, got 11"),
    ]


# --------------------------------------------------------------------------- values


def test_moments_are_timezone_aware_utc() -> None:
    doc = load_documents([EXAMPLE])
    kr = doc.objectives_by_key["reliable-deliveries"].key_results[0]
    # A naive date-time is UTC; a date is 00:00 UTC; an offset is converted to UTC.
    assert kr.checkins[0].at == datetime(2027, 1, 20, 17, tzinfo=UTC)
    measurements = doc.kpis_by_key["nps"].measurements
    assert measurements[0].at == datetime(2026, 12, 31, 22, tzinfo=UTC)
    assert doc.kpis_by_key["on-time-rate"].measurements[0].at == datetime(2027, 1, 7, tzinfo=UTC)
    every = [c.at for _, kr in doc.key_results() for c in kr.checkins]
    every += [m.at for k in doc.kpis for m in k.measurements]
    assert all(at.utcoffset() is not None and at.tzinfo is UTC for at in every)


def test_people_roles_per_team_and_emails_case_insensitive() -> None:
    doc = load_texts(
        [
            (
                "people.yaml",
                "version: 1\n"
                "teams:\n"
                "  - {key: co, name: Co, kind: company}\n"
                "  - {key: ops, name: Ops, parent: co}\n"
                "  - {key: web, name: Web, parent: co}\n"
                "people:\n"
                "  - {email: Ana@Co.test, name: Ana, teams: [ops, web], role: lead}\n"
                "  - email: ben@co.test\n"
                "    teams: [web]\n"
                "    memberships: [{team: co, role: admin}]\n"
                "cycles: [{key: q, start: 2027-01-01, end: 2027-03-31}]\n"
                "objectives:\n"
                "  - {key: o, cycle: q, team: ops, owner: ANA@co.test, title: T}\n",
            )
        ]
    )
    assert doc.people_by_email["ana@co.test"].roles() == {"ops": "lead", "web": "lead"}
    assert doc.people_by_email["ben@co.test"].roles() == {"web": "member", "co": "admin"}
    assert doc.objectives[0].owner == "ana@co.test"


def test_a_team_listed_twice_for_a_person_is_an_error() -> None:
    problems = texts_problems(
        "version: 1\n"
        "teams: [{key: co, name: Co, kind: company}]\n"
        "people:\n"
        "  - {email: a@co.test, teams: [co], memberships: [{team: co, role: admin}]}\n"
    )
    assert [p.field_path for p in problems] == ["people[0].memberships[0].team"]


def test_defaults_follow_the_models() -> None:
    doc = load_texts(
        [
            (
                "d.yaml",
                "version: 1\n"
                "teams: [{key: co, name: Co, kind: company}]\n"
                "cycles: [{key: q, start: 2027-01-01, end: 2027-03-31}]\n"
                "objectives:\n"
                "  - {key: o, cycle: q, team: co, title: T, key_results: [{key: k, title: K}]}\n"
                "kpis: [{key: m, name: M, team: co}]\n",
            )
        ]
    )
    objective, kr, kpi = doc.objectives[0], doc.objectives[0].key_results[0], doc.kpis[0]
    assert (objective.type, objective.visibility) == ("aspirational", "public")
    assert (kr.kind, kr.weight, kr.counter_kpis, kr.due) == ("increase", 1.0, [], None)
    assert (kpi.direction, kpi.tier, kpi.cadence) == ("up", "key", None)
    assert doc.teams[0].checkin_cadence_days == 7
    assert doc.cycles[0].state is None


def test_missing_files_and_no_files() -> None:
    problems = problems_of(DATA / "no-such-file.yaml")
    assert problems[0].line is None
    assert "cannot read the file" in str(problems[0])
    with pytest.raises(ValueError, match="no file"):
        load_documents([])


def test_a_document_built_in_code_has_no_source() -> None:
    doc = Document(version=1)
    assert doc.locate(("teams", 0)) is None
    assert doc.line_of("teams/x") is None


def test_problem_renders_file_line_field_and_message() -> None:
    problem = Problem("okrs.yaml", 14, "objectives[0].key_results[1].kind", "must be ...")
    assert str(problem) == "okrs.yaml:14: objectives[0].key_results[1].kind: must be ..."
    assert str(Problem("x.yaml", None, "", "cannot read")) == "x.yaml: cannot read"


def test_alias_bombs_are_refused() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    problems = texts_problems("version: 1\n" + "\n".join(levels) + "\n")
    assert "too many nodes" in problems[0].message


# --------------------------------------------------------------------------- robustness


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*path, i))
    return found


_EXAMPLE_RAW = yaml.safe_load(EXAMPLE.read_text())
_EXAMPLE_PATHS = [p for p in _paths(_EXAMPLE_RAW) if p]
_ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["ops", "2027-Q1", "ana@northwind.test", "increase", "weekly"]),
    st.dates(),
    st.datetimes(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _check_problems(problems: list[Problem], text: str) -> None:
    assert problems
    for problem in problems:
        assert problem.file == "fuzz.yaml"
        assert problem.line is None or 1 <= problem.line <= text.count("\n") + 1
        assert problem.message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(_EXAMPLE_PATHS), st.sampled_from(["set", "drop"]), _ANY_VALUE),
        min_size=1,
        max_size=3,
    ),
    at=st.datetimes(min_value=datetime(2026, 6, 1), max_value=datetime(2028, 1, 1)),
)
def test_damaged_documents_give_problems_never_crashes(
    edits: list[tuple[tuple[Any, ...], str, Any]], at: datetime
) -> None:
    data = copy.deepcopy(_EXAMPLE_RAW)
    for path, action, value in edits:
        parent = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            if action == "drop":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this part
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    try:
        doc = load_texts([("fuzz.yaml", text)])
    except DocumentError as exc:
        _check_problems(exc.errors, text)
        return
    try:
        result = score_document(doc, at)
    except CycleSelectionError:
        return
    json.dumps(result, allow_nan=False)


# --------------------------------------------------------------------------- the reference


FORMAT_DOC = ROOT / "docs" / "yaml-format.md"


def test_the_format_reference_documents_every_field() -> None:
    text = FORMAT_DOC.read_text()
    models: list[type[BaseModel]] = [
        schema.Document,
        schema.Team,
        schema.Person,
        schema.Membership,
        schema.Cycle,
        schema.Objective,
        schema.CoachSettings,
        schema.KeyResult,
        schema.CheckIn,
        schema.Kpi,
        schema.TargetStep,
        schema.Measurement,
    ]
    missing = [
        f"{model.__name__}.{name}"
        for model in models
        for name, info in model.model_fields.items()
        if f"| `{info.alias or name}` |" not in text  # the file's name for the field
    ]
    assert not missing


@pytest.mark.parametrize(
    "fixture",
    [
        "bad-unknown-field",
        "bad-wrong-type",
        "bad-missing-field",
        "bad-missing-reference",
        "bad-duplicate-key",
        "bad-alignment-cycle",
        "bad-team-loop",
        "bad-cycle-dates",
        "bad-yaml-syntax",
        "bad-version",
        "bad-missing-version",
        "bad-empty",
        "bad-not-mapping",
        "bad-many",
    ],
)
def test_the_documented_error_examples_are_what_the_loader_says(fixture: str) -> None:
    text = FORMAT_DOC.read_text()
    with pytest.raises(DocumentError) as info:
        load_texts([("okrs.yaml", (DATA / f"{fixture}.yaml").read_text())])
    for problem in info.value.errors:
        assert str(problem) in text


def test_the_documented_example_is_the_example_file() -> None:
    text = FORMAT_DOC.read_text()
    block = text.split("## The complete example", 1)[1].split("```yaml\n", 1)[1]
    assert block.rsplit("```", 1)[0] == EXAMPLE.read_text()
