"""Request and response bodies of the API (pydantic, through ninja's Schema)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from headway.coach.rules import RULES

# Measurements refuse larger magnitudes (kpis.actions.MAX_ABS_VALUE); targets do as well.
MAX_ABS = 1e15


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text") from None
    return value


Text = Annotated[str, AfterValidator(_clean_text)]


def _not_a_boolean(value: Any) -> Any:
    """JSON's true/false are not numbers (pydantic would read them as 1.0 and 0.0)."""
    if isinstance(value, bool):
        raise ValueError("a number is required, not true or false")
    return value


Number = Annotated[
    float,
    BeforeValidator(_not_a_boolean),
    Field(allow_inf_nan=False, ge=-MAX_ABS, le=MAX_ABS),
]
KEY_PATTERN = r"^[-a-zA-Z0-9_]+$"
TeamKey = Annotated[str, Field(min_length=1, max_length=100, pattern=KEY_PATTERN)]
CycleKey = Annotated[str, Field(min_length=1, max_length=100, pattern=KEY_PATTERN)]
ObjectiveKey = Annotated[str, Field(min_length=1, max_length=150, pattern=KEY_PATTERN)]
KpiKey = Annotated[str, Field(min_length=1, max_length=150, pattern=KEY_PATTERN)]
Email = Annotated[Text, Field(min_length=3, max_length=254)]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 31))]

TeamKind = Literal["company", "department", "team"]
RoleName = Literal["admin", "lead", "member", "viewer"]
CycleStateName = Literal["planning", "active", "closed"]
ObjectiveTypeName = Literal["committed", "aspirational"]
VisibilityName = Literal["public", "private"]
KeyResultKindName = Literal["increase", "decrease", "above", "below", "milestone", "objectives"]
StatusName = Literal["achieved", "on_track", "at_risk", "off_track", "no_data"]
BandName = Literal["red", "yellow", "green"]
DirectionName = Literal["up", "down"]
CadenceName = Literal["weekly", "monthly", "quarterly", ""]
TierName = Literal["key", "diagnostic"]
HealthName = Literal["healthy", "warning", "critical", "stale", "no_data"]
ScopeName = Literal["read", "write"]


class In(Schema):
    """Base of request bodies: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


# Pagination -------------------------------------------------------------------------------

MAX_LIMIT = 200


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description=f"Items per page (1-{MAX_LIMIT}).")
    offset: int = Field(0, ge=0, le=1_000_000_000, description="Items to skip.")


class MeasurementPageParams(Schema):
    limit: int = Field(500, ge=1, le=5000, description="Measurements per page (1-5000).")
    offset: int = Field(0, ge=0, le=1_000_000_000, description="Measurements to skip.")


class Page[T](Schema):
    """One page of a list: `count` is the total number of items matching the filters."""

    count: int
    limit: int
    offset: int
    items: list[T]


# Teams and people --------------------------------------------------------------------------


class TeamOut(Schema):
    key: str
    name: str
    kind: TeamKind
    parent: str | None
    checkin_cadence_days: int
    created_at: datetime


class TeamIn(In):
    key: TeamKey
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    kind: TeamKind = "team"
    parent: TeamKey | None = None
    checkin_cadence_days: int = Field(7, ge=1, le=92)


class TeamPatch(In):
    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    kind: TeamKind | None = None
    parent: TeamKey | None = None
    checkin_cadence_days: int | None = Field(None, ge=1, le=92)


class MembershipIO(Schema):
    model_config = ConfigDict(extra="forbid")

    team: TeamKey
    role: RoleName = "member"


class PersonOut(Schema):
    email: str
    name: str
    is_active: bool
    date_joined: datetime
    memberships: list[MembershipIO]


class PersonIn(In):
    email: Email
    name: Annotated[Text, Field(max_length=200)] = ""
    is_active: bool = True
    memberships: list[MembershipIO] = Field(default_factory=list, max_length=500)


class PersonPatch(In):
    name: Annotated[Text, Field(max_length=200)] | None = None
    is_active: bool | None = None
    memberships: list[MembershipIO] | None = Field(
        None, max_length=500, description="Replaces all of the person's memberships."
    )


# Cycles -------------------------------------------------------------------------------------


class CycleOut(Schema):
    key: str
    name: str
    start: date
    end: date
    state: CycleStateName
    closed_at: datetime | None
    closed_by: str | None


class CycleIn(In):
    key: CycleKey
    name: Annotated[Text, Field(max_length=200)] = ""
    start: Day
    end: Day
    state: Literal["planning", "active"] = "planning"


class CyclePatch(In):
    name: Annotated[Text, Field(max_length=200)] | None = None
    start: Day | None = None
    end: Day | None = None
    state: Literal["planning", "active"] | None = Field(
        None, description="Close and reopen with their own operations."
    )


class CloseIn(In):
    reflections: dict[ObjectiveKey, Text] = Field(
        default_factory=dict,
        description="Reflection notes by objective key; committed objectives below 1.0 need one.",
    )


# Objectives and key results ---------------------------------------------------------------


class ScoreFields(Schema):
    score: float
    status: StatusName
    forecast: float | None
    expected: float


class KeyResultOut(Schema):
    key: str
    objective: str
    title: str
    kind: KeyResultKindName
    owner: str | None
    unit: str
    start: float | None
    target: float | None
    weight: float
    due: date | None
    due_date: date
    position: int
    kpi: str | None
    counter_kpis: list[str]
    current: float | None
    done: bool
    grade: float | None
    version: int
    created_at: datetime
    updated_at: datetime


class KeyResultDetail(KeyResultOut):
    score: float
    status: StatusName
    forecast: float | None
    expected: float
    confidence: int | None
    last_checkin_at: datetime | None


class ObjectiveOut(Schema):
    key: str
    title: str
    description: str
    cycle: str
    team: str
    owner: str | None
    type: ObjectiveTypeName
    visibility: VisibilityName
    parent: str | None
    grade: float | None
    reflection: str
    version: int
    created_at: datetime
    updated_at: datetime


class ObjectiveDetail(ObjectiveOut):
    contributors: list[str] = Field(
        description="Keys of the contributing teams besides its own (a shared objective), "
        "by team name."
    )
    score: float
    status: StatusName
    grade_band: BandName
    forecast: float | None
    expected: float
    key_results: list[KeyResultDetail]


class ObjectiveFilters(Schema):
    team: TeamKey | None = Field(None, description="Team key.")
    cycle: CycleKey | None = Field(None, description="Cycle key.")
    owner: Email | None = Field(None, description="Owner's e-mail.")
    status: StatusName | None = Field(
        None, description="Status now; needs `cycle` (status is computed within a cycle)."
    )


class ObjectiveIn(In):
    key: ObjectiveKey
    cycle: CycleKey
    team: TeamKey
    title: Annotated[Text, Field(min_length=1, max_length=300)]
    description: Text = ""
    owner: Email | None = None
    type: ObjectiveTypeName = "aspirational"
    visibility: VisibilityName = "public"
    parent: ObjectiveKey | None = Field(
        None, description="Objective it aligns to (same cycle or a spanning one)."
    )
    contributors: list[TeamKey] = Field(
        default_factory=list,
        max_length=500,
        description="Keys of contributing teams besides `team` (a shared objective): it shows "
        "in their trees, people on them check in on their key results, it counts once.",
    )


class ObjectivePatch(In):
    title: Annotated[Text, Field(min_length=1, max_length=300)] | None = None
    description: Text | None = None
    owner: Email | None = None
    type: ObjectiveTypeName | None = None
    visibility: VisibilityName | None = None
    reflection: Text | None = None
    contributors: list[TeamKey] | None = Field(
        None, max_length=500, description="Keys of the contributing teams; replaces them all."
    )


class AlignIn(In):
    parent: ObjectiveKey | None = Field(description="Key of the new parent, or null.")


class KeyResultIn(In):
    key: ObjectiveKey
    title: Annotated[Text, Field(min_length=1, max_length=300)]
    kind: KeyResultKindName = "increase"
    owner: Email | None = None
    unit: Annotated[Text, Field(max_length=30)] = ""
    start: Number | None = None
    target: Number | None = None
    weight: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] = 1.0
    due: Day | None = None
    position: int | None = Field(None, ge=0, le=32767)
    kpi: KpiKey | None = Field(None, description="KPI whose measurements feed the value.")
    counter_kpis: list[KpiKey] = Field(default_factory=list, max_length=20)


class KeyResultPatch(In):
    title: Annotated[Text, Field(min_length=1, max_length=300)] | None = Field(
        None, description="Only while the cycle is being planned; later, recalibrate."
    )
    kind: KeyResultKindName | None = Field(None, description="Only while planning.")
    owner: Email | None = None
    unit: Annotated[Text, Field(max_length=30)] | None = None
    start: Number | None = Field(None, description="Only while planning; later, recalibrate.")
    target: Number | None = Field(None, description="Only while planning; later, recalibrate.")
    weight: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)] | None = None
    due: Day | None = None
    position: int | None = Field(None, ge=0, le=32767)
    kpi: KpiKey | None = None
    counter_kpis: list[KpiKey] | None = Field(None, max_length=20)


class RecalibrateIn(In):
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]
    title: Annotated[Text, Field(min_length=1, max_length=300)] | None = None
    start: Number | None = None
    target: Number | None = None


class CheckInOut(Schema):
    id: int
    at: datetime
    value: float | None
    done: bool | None
    confidence: int | None
    comment: str
    author: str | None
    created_at: datetime


class CheckInIn(In):
    value: Number | None = Field(None, description="The current value (not for milestones).")
    done: bool | None = Field(None, description="Milestones only.")
    confidence: int | None = Field(None, ge=0, le=10)
    comment: Text = ""
    at: datetime | None = Field(
        None, description="Default now; not ahead (outside the cycle it is kept: docs/okrs.md)."
    )


# KPIs and measurements --------------------------------------------------------------------


class KpiOut(Schema):
    key: str
    name: str
    unit: str
    definition: str
    why: str
    how: str
    team: str
    owner: str | None
    direction: DirectionName
    target: float | None
    warning: float | None
    critical: float | None
    benchmark: float | None
    cadence: CadenceName
    tier: TierName
    health: HealthName
    trend: str
    latest_value: float | None
    latest_at: datetime | None
    evaluated_at: datetime | None
    retired_at: datetime | None = Field(
        description="Set when a selection review retired it: it takes no new measurements."
    )
    replaced_by: str | None = Field(description="The KPI that replaced it, if any.")
    review_due_at: datetime | None = Field(
        description="When its selection review is due (None once retired)."
    )
    review_flag: str = Field(
        description="Why the review is due early (its link to an outcome decayed), or ''."
    )
    version: int
    created_at: datetime
    updated_at: datetime


class KpiFilters(Schema):
    team: TeamKey | None = Field(None, description="Team key.")
    health: HealthName | None = None
    tier: TierName | None = None
    retired: bool = Field(
        False, description="true: only retired KPIs; false (the default): those in use."
    )


ReviewDecisionName = Literal["confirm", "retarget", "retire", "replace"]


class KpiReviewIn(In):
    decision: ReviewDecisionName
    reason: Annotated[Text, Field(min_length=1, max_length=5000)]
    target: float | None = Field(None, description="A retarget's new target.")
    warning: float | None = Field(None, description="A retarget's new warning threshold.")
    critical: float | None = Field(None, description="A retarget's new critical threshold.")
    replacement: KpiKey | None = Field(None, description="A replacement's KPI (its key).")


class KpiReviewOut(Schema):
    kpi: str
    at: datetime
    by: str | None
    decision: ReviewDecisionName
    reason: str
    flag: str
    changes: dict[str, list[float | None]]
    replacement: str | None


class KpiIn(In):
    key: KpiKey
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    team: TeamKey
    unit: Annotated[Text, Field(max_length=30)] = ""
    definition: Text = ""
    why: Text = ""
    how: Text = ""
    owner: Email | None = None
    direction: DirectionName = "up"
    target: Number | None = None
    warning: Number | None = None
    critical: Number | None = None
    benchmark: Number | None = None
    cadence: CadenceName = ""
    tier: TierName = "key"


class KpiPatch(In):
    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    unit: Annotated[Text, Field(max_length=30)] | None = None
    definition: Text | None = None
    why: Text | None = None
    how: Text | None = None
    owner: Email | None = None
    direction: DirectionName | None = None
    target: Number | None = None
    warning: Number | None = None
    critical: Number | None = None
    benchmark: Number | None = None
    cadence: CadenceName | None = None
    tier: TierName | None = None


class PromoteIn(In):
    objective: ObjectiveKey
    target: Number | None = Field(None, description="Default: the KPI's target.")
    title: Annotated[Text, Field(min_length=1, max_length=300)] | None = None


class MeasurementOut(Schema):
    at: datetime
    value: float
    source: str
    note: str
    updated_at: datetime


class IngestOut(Schema):
    created: int
    replaced: int
    unchanged: int
    kpis: list[str]


class PushJobOut(Schema):
    """A large push accepted as a job (docs/api.md, "Large pushes")."""

    key: str
    state: str = Field(description="queued, running or done")
    rows: int = Field(description="rows in the body (CSV lines after the header, JSON objects)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status: int | None = Field(
        description="once done: the status a synchronous push would have answered (200, 400, 422)"
    )
    result: dict[str, Any] | None = Field(
        description="once done: that push's body, an IngestOut (200) or the error shape"
    )
    location: str


# Trees and scores ---------------------------------------------------------------------------


class TreeKeyResult(Schema):
    key: str
    title: str
    kind: KeyResultKindName
    unit: str
    start: float | None
    target: float | None
    current: float | None
    weight: float
    kpi: str | None
    score: float
    status: StatusName
    forecast: float | None
    confidence: int | None
    last_checkin_at: datetime | None


class TreeObjective(Schema):
    key: str
    title: str
    team: str
    owner: str | None
    type: ObjectiveTypeName
    visibility: VisibilityName
    grade: float | None
    score: float
    status: StatusName
    grade_band: BandName
    forecast: float | None
    key_results: list[TreeKeyResult]
    children: list[TreeObjective]


class TreeOut(Schema):
    cycle: CycleOut
    at: datetime
    expected: float = Field(description="Fraction of the cycle elapsed at `at`.")
    teams: dict[str, float] = Field(description="Team scores by team key.")
    objectives: list[TreeObjective] = Field(description="Objectives aligned to nothing here.")


class ObjectiveScore(ScoreFields):
    grade_band: BandName


class KeyResultScore(ScoreFields):
    current: float | None
    confidence: int | None
    last_checkin_at: datetime | None


class TeamScore(Schema):
    score: float


class ScoresOut(Schema):
    cycle: str
    at: datetime
    objectives: dict[str, ObjectiveScore]
    key_results: dict[str, KeyResultScore] = Field(
        description='Keyed by "<objective key>/<key-result key>".'
    )
    teams: dict[str, TeamScore]


class AtParams(Schema):
    at: datetime | None = Field(None, description="The moment to score at (default now).")


class TreeParams(AtParams):
    team: str | None = Field(
        None,
        description="Only the objectives of this team and of the teams below it "
        "(a big cycle's whole tree is a bulk read; this keeps a call small).",
    )


# Tokens ---------------------------------------------------------------------------------------


class TokenOut(Schema):
    id: int
    name: str
    scope: ScopeName
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret: shown this once, store it now.")


class TokenIn(In):
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    scope: ScopeName = "read"


# The coach ------------------------------------------------------------------------------------

SeverityName = Literal["error", "warning", "info"]


class FindingOut(Schema):
    rule: str = Field(description="The rule's stable id (see /coach/rules).")
    severity: SeverityName
    path: str = Field(
        description="What it is about: `objectives/<key>`, `objectives/<key>/key_results/<kr>`, "
        "`kpis/<key>` or `teams/<key>`."
    )
    message: str = Field(description="What the coach saw, and the principle it defends.")
    fix: str


class FindingFilters(Schema):
    path: Annotated[Text, Field(min_length=1, max_length=400)] | None = Field(
        None, description="Only findings whose path starts with this, e.g. `objectives/grow` "
        "or `kpis/`."
    )  # fmt: skip
    rule: Annotated[str, Field(json_schema_extra={"enum": list(RULES)})] | None = Field(
        None, description="A rule id."
    )
    severity: SeverityName | None = None
    team: TeamKey | None = Field(
        None, description="Team key: findings on the team, its objectives and their key "
        "results, and its KPIs."
    )  # fmt: skip


class RuleOut(Schema):
    id: str
    severity: SeverityName
    principle: str
    fix: str
