"""The demo organisation: Larkspur Health, a mid-size network of clinics with a telehealth app.

``load_demo()`` writes a complete, realistic organisation into the database so that every
page of Headway has something true-looking to show, and so that the coach has exactly one
clear instance of each of its rules to find (see ``PLANTED``).

What is in it
-------------
- **Teams**: Larkspur Health (company) → Care Delivery, Product & Engineering, Growth
  (departments) → Clinic Operations, Telehealth, Patient App, Platform, Marketing, Revenue
  Cycle (teams).
- **People**: 15, with every role. Everyone signs in with the password ``headway-demo``
  (``DEMO_PASSWORD``), so the demo can be seen through the eyes of a lead, a member or a
  viewer. The demo administrator is ``demo@headway.local`` ("Demo Admin"): a Django
  superuser and staff member, and ``admin`` on the company team. Re-running the loader
  restores the demo administrator's password; other people keep theirs.
- **Cycles**: the calendar quarter containing ``today`` (active), the quarter before
  (closed and graded: grades on objectives and key results, reflections, a full history of
  weekly check-ins) and the two quarters before that (``EARLIER_QUARTERS``, closed and
  graded too: the closed quarter's objectives earlier in their life, so team history,
  calibration of confidence and "did it move the KPI?" have several cycles to read).
- **Objectives**: 22 in the current quarter and 13 in the closed one, aligned company →
  department → team, with 1 to 5 key results of every kind and weekly check-ins (value,
  confidence, comment, author) on Mondays up to ``today``.
- **KPIs**: 22 cards (both directions, weekly/monthly/quarterly cadences, key and diagnostic
  tiers, thresholds, some benchmarks) with 13+ months of measurements. Among them a
  deteriorating one (``DETERIORATING_KPI``), a critical one (``CRITICAL_KPI``), a stale one
  (``STALE_KPI``), KPIs feeding key results (``LINKED_KR``) and a counter-KPI guard rail
  (``COUNTER_KR``).

Dates are relative to ``today`` (default: the current UTC date), so the demo always looks
current. Everything is deterministic (fixed random seeds per object).

Idempotence
-----------
Teams, people, cycles, objectives, key results and KPIs are matched by key (or e-mail) and
only saved when something differs, so a second run changes nothing and records no history.
Check-ins and measurements are created in bulk when missing and corrected when the demo's
value for that moment differs (which only happens when the loader runs on a later day);
when the quarter has rolled over, the demo objectives move to the new quarters, check-ins
outside their cycle are removed, and the demo's older quarters left empty are deleted.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import models, transaction

from headway.kpis.actions import refresh_kpis
from headway.kpis.models import Cadence, Direction, Kpi, KpiReview, Measurement, Tier
from headway.okrs.models import (
    CheckIn,
    Cycle,
    CycleState,
    KeyResult,
    KeyResultKind,
    Objective,
    ObjectiveType,
    Visibility,
)
from headway.okrs.stored import rescore_all
from headway.teams.models import Membership, Person, Role, Team, TeamKind

__all__ = [
    "COMPANY_KEY",
    "COUNTER_KR",
    "CRITICAL_KPI",
    "DEMO_ADMIN_EMAIL",
    "DEMO_PASSWORD",
    "DETERIORATING_KPI",
    "LINKED_KR",
    "PLANTED",
    "PRIVATE_OBJECTIVE",
    "STALE_KPI",
    "DemoSummary",
    "load_demo",
]

DEMO_ADMIN_EMAIL = "demo@headway.local"
DEMO_PASSWORD = "headway-demo"
COMPANY_KEY = "larkspur"
SEED = 20260401

DETERIORATING_KPI = "no-show-rate"
CRITICAL_KPI = "call-answer-time"
STALE_KPI = "training-compliance"
# (objective key, key result key): fed by a KPI, and guarded by a counter-KPI.
LINKED_KR = ("app-first-choice", "app-booking-share")
COUNTER_KR = LINKED_KR
PRIVATE_OBJECTIVE = "riverside-ready"

# One clear instance of every coach rule of PRODUCT.md section 4, by the path the coach
# reports ("objectives/<key>", "objectives/<key>/key_results/<kr>", "kpis/<key>",
# "teams/<key>"). Everything else in the demo is meant to be well-formed.
PLANTED: dict[str, str] = {
    "objective-count": "teams/clinic-ops",
    "kr-count": "objectives/evening-clinics-patients-rely-on",
    "objective-is-metric": "objectives/grow-net-revenue",
    "objective-vague": "objectives/improve-marketing",
    "kr-is-task": "objectives/video-visits-as-good-as-in-person/key_results/hire-telehealth-gps",
    "kr-not-measurable": "objectives/prescriptions-without-phone-calls/key_results/renewal-ease",
    "kr-no-deadline": "objectives/dependable-app-backend/key_results/ehr-sync-clinics",
    "kpi-too-many": "teams/clinic-ops",
    "kpi-card-incomplete": "kpis/website-conversion",
    "kpi-not-reviewed": f"kpis/{STALE_KPI}",
    "orphan-objective": "objectives/on-call-without-dread",
    "sandbagging": "objectives/quiet-releases",
    "committed-missed": "objectives/complete-handovers",
    "kpi-as-kr-everywhere": "teams/revenue-cycle",
}


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """How many rows of each kind the demo organisation holds."""

    teams: int
    people: int
    cycles: int
    objectives: int
    key_results: int
    checkins: int
    kpis: int
    measurements: int

    def __str__(self) -> str:
        return (
            f"{self.teams} teams, {self.people} people, {self.cycles} cycles, "
            f"{self.objectives} objectives, {self.key_results} key results, "
            f"{self.checkins} check-ins, {self.kpis} KPIs, {self.measurements} measurements"
        )


# --------------------------------------------------------------------------- the data

#: Closed quarters before the closed one, holding the same objectives earlier in their life.
EARLIER_QUARTERS = 2
_EARLIER_REFLECTION = (
    "Good progress, not all the way: the work carries into next quarter with the same aim."
)

DOMAIN = "larkspur.test"


@dataclass(frozen=True, slots=True)
class _Team:
    key: str
    name: str
    kind: str
    parent: str | None


@dataclass(frozen=True, slots=True)
class _Person:
    handle: str  # e-mail local part at DOMAIN, or the full demo admin address
    name: str
    roles: tuple[tuple[str, str], ...]  # (team key, role)


@dataclass(frozen=True, slots=True)
class _KR:
    key: str
    title: str
    kind: str
    unit: str = ""
    start: float | None = None
    target: float | None = None
    # Current cycle: pace against the calendar (1.0 = exactly on plan). Closed cycle: the
    # share of the way from start to target reached at the end (the grade, before clamping).
    # Milestones: >= 1 means done.
    progress: float = 0.8
    level: float | None = None  # above/below: where the value sits (latest exactly)
    kpi: str | None = None
    counters: tuple[str, ...] = ()
    owner: str | None = None
    weight: float = 1.0
    due_days: int | None = None  # the due date, in days from the cycle's end
    dp: int = 1  # decimals the value is recorded with (negative: rounded to tens, hundreds)


@dataclass(frozen=True, slots=True)
class _Objective:
    key: str
    team: str
    owner: str
    title: str
    krs: tuple[_KR, ...]
    parent: str | None = None
    type: str = ObjectiveType.ASPIRATIONAL
    private: bool = False
    reflection: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class _Kpi:
    key: str
    name: str
    team: str
    owner: str | None
    unit: str
    direction: str
    cadence: str
    tier: str
    target: float
    warning: float
    critical: float
    definition: str
    why: str
    how: str
    source: str
    first: float  # value of the oldest measurement
    last: float  # value of the latest measurement (unless ``tail`` says otherwise)
    noise: float
    dp: int = 1
    benchmark: float | None = None
    tail: tuple[float, ...] = ()  # exact last values, oldest first
    prev_start: float | None = None  # exact value at the start of the previous quarter
    boundary: float | None = None  # exact value at the start of the current quarter
    stale_days: int = 0  # the series stops this many days before today
    last_note: str = ""


TEAMS: tuple[_Team, ...] = (
    _Team(COMPANY_KEY, "Larkspur Health", TeamKind.COMPANY, None),
    _Team("care", "Care Delivery", TeamKind.DEPARTMENT, COMPANY_KEY),
    _Team("product", "Product & Engineering", TeamKind.DEPARTMENT, COMPANY_KEY),
    _Team("growth", "Growth", TeamKind.DEPARTMENT, COMPANY_KEY),
    _Team("clinic-ops", "Clinic Operations", TeamKind.TEAM, "care"),
    _Team("telehealth", "Telehealth", TeamKind.TEAM, "care"),
    _Team("patient-app", "Patient App", TeamKind.TEAM, "product"),
    _Team("platform", "Platform", TeamKind.TEAM, "product"),
    _Team("marketing", "Marketing", TeamKind.TEAM, "growth"),
    _Team("revenue-cycle", "Revenue Cycle", TeamKind.TEAM, "growth"),
)

PEOPLE: tuple[_Person, ...] = (
    _Person(DEMO_ADMIN_EMAIL, "Demo Admin", ((COMPANY_KEY, Role.ADMIN),)),
    _Person("maren.okafor", "Maren Okafor", ((COMPANY_KEY, Role.LEAD),)),
    _Person("tomas.lindqvist", "Tomás Lindqvist", (("care", Role.LEAD),)),
    _Person("priya.raman", "Priya Raman", (("product", Role.LEAD),)),
    _Person("elliot.baptiste", "Elliot Baptiste", (("growth", Role.LEAD),)),
    _Person("hana.sato", "Hana Sato", (("clinic-ops", Role.LEAD),)),
    _Person("amara.nwosu", "Dr Amara Nwosu", (("telehealth", Role.LEAD),)),
    _Person("jonas.weber", "Jonas Weber", (("patient-app", Role.LEAD),)),
    _Person("sofia.marchetti", "Sofia Marchetti", (("platform", Role.LEAD),)),
    _Person("leo.fontaine", "Leo Fontaine", (("marketing", Role.LEAD),)),
    _Person("nadia.haddad", "Nadia Haddad", (("revenue-cycle", Role.LEAD),)),
    _Person(
        "ravi.menon",
        "Ravi Menon",
        (("clinic-ops", Role.MEMBER), ("revenue-cycle", Role.MEMBER)),
    ),
    _Person("chloe.dubois", "Chloé Dubois", (("patient-app", Role.MEMBER),)),
    _Person("kwame.asante", "Kwame Asante", (("platform", Role.MEMBER),)),
    _Person("ingrid.halvorsen", "Ingrid Halvorsen", ((COMPANY_KEY, Role.VIEWER),)),
)

INC, DEC = KeyResultKind.INCREASE, KeyResultKind.DECREASE
ABOVE, BELOW = KeyResultKind.ABOVE, KeyResultKind.BELOW
MILESTONE, ROLLUP = KeyResultKind.MILESTONE, KeyResultKind.OBJECTIVES
COMMITTED = ObjectiveType.COMMITTED

# fmt: off
# The quarter containing ``today``: well-formed, except for the planted instances.
CURRENT: tuple[_Objective, ...] = (
    _Objective(
        "effortless-care",
        COMPANY_KEY,
        "maren.okafor",
        "Make getting care at Larkspur feel effortless, from first booking to follow-up",
        description=(
            "Patients tell us the care is good and getting to it is hard. This quarter we "
            "remove the waiting, the phone queues and the chasing."
        ),
        krs=(
            _KR("patient-nps", "Raise patient NPS from 41 to 55", INC, "NPS", 41, 55,
                progress=0.8, weight=2, dp=0),
            _KR("days-to-appointment",
                "Cut the median wait from booking to appointment from 9 days to 4", DEC,
                "days", 9, 4, progress=0.6, owner="tomas.lindqvist"),
            _KR("department-objectives",
                "Care and product department objectives beneath this one average 0.7 or better",
                ROLLUP),
        ),
    ),
    _Objective(
        "regions-we-can-sustain",
        COMPANY_KEY,
        "maren.okafor",
        "Expand into the Midlands on foundations our clinicians can sustain",
        description="Grow where we have started, without burning out the people who do the work.",
        krs=(
            _KR("midlands-mrr",
                "Lift monthly recurring revenue from Midlands clinics from £180k to £320k",
                INC, "£k/month", 180, 320, progress=0.7, owner="elliot.baptiste", dp=0),
            _KR("clinician-overtime", "Keep average clinician overtime at or below 6 hours a week",
                BELOW, "h/week", target=6, level=5.2, owner="tomas.lindqvist"),
            _KR("clinician-retention",
                "Keep twelve-month clinician retention at or above 90%", ABOVE, "%",
                target=90, level=92.5, owner="tomas.lindqvist"),
        ),
    ),
    _Objective(
        "visits-run-to-time",
        "care",
        "tomas.lindqvist",
        "Make every visit, in a clinic or on video, run on time for patients and staff alike",
        parent="effortless-care",
        type=COMMITTED,
        krs=(
            _KR("on-time-starts",
                "Raise appointments starting within 10 minutes of schedule from 71% to 88%",
                INC, "%", 71, 88, progress=0.85, dp=0),
            _KR("seen-within-week",
                "Raise patients seen within a week of booking from 54% to 75%", INC, "%",
                54, 75, progress=0.45, dp=0),
            _KR("staff-pulse", "Keep the clinic staff pulse score at or above 7.5", ABOVE,
                "/10", target=7.5, level=7.3),
        ),
    ),
    _Objective(
        "app-first-choice",
        "product",
        "priya.raman",
        "Make the Larkspur app the way most patients choose to reach us",
        parent="effortless-care",
        krs=(
            _KR("app-booking-share",
                "Raise the share of appointments booked in the app from 38% to 55%", INC,
                "%", 38, 55, kpi="app-booking-share", counters=("booking-support-contacts",),
                owner="jonas.weber"),
            _KR("app-rating", "Lift the app store rating from 3.9 to 4.5", INC, "stars",
                3.9, 4.5, progress=0.9, owner="chloe.dubois"),
            _KR("monthly-active-patients",
                "Grow monthly active patients in the app from 42,000 to 60,000", INC,
                "patients", 42000, 60000, progress=0.75, dp=-2),
        ),
    ),
    _Objective(
        "first-name-families-think-of",
        "growth",
        "elliot.baptiste",
        "Become the name families in our regions think of first for everyday care",
        parent="regions-we-can-sustain",
        krs=(
            _KR("top-of-mind",
                "Raise parents who name Larkspur first for a local GP from 9% to 16%", INC,
                "%", 9, 16, progress=0.7),
            _KR("acquisition-cost",
                "Bring blended patient acquisition cost down from £64 to £45", DEC, "£",
                64, 45, progress=0.8, dp=0),
        ),
    ),
    _Objective(
        PRIVATE_OBJECTIVE,
        "growth",
        "elliot.baptiste",
        "Be ready to welcome the Riverside practices into Larkspur",
        parent="regions-we-can-sustain",
        type=COMMITTED,
        private=True,
        description="Confidential until the board announces the merger.",
        krs=(
            _KR("diligence-signed-off",
                "Clinical and financial due diligence on Riverside signed off by the board",
                MILESTONE, progress=1.0, due_days=-40, owner="maren.okafor"),
            _KR("riverside-clinician-intent",
                "Raise Riverside clinicians who say they would stay after a merger "
                "from 50% to 80%", INC, "%", 50, 80, progress=0.7, dp=0),
        ),
    ),
    _Objective(
        "growth-that-pays-for-itself",
        "growth",
        "elliot.baptiste",
        "Make every new patient relationship pay for itself within its first year",
        parent="regions-we-can-sustain",
        krs=(
            _KR("payback-months",
                "Cut patient acquisition payback from 16 to 11 months", DEC, "months",
                16, 11, progress=0.6),
            _KR("first-year-retention",
                "Raise patients still with us after a year from 61% to 72%", INC, "%",
                61, 72, progress=0.8),
        ),
    ),
    # Clinic Operations: six objectives in one quarter (objective-count).
    _Objective(
        "front-desk-without-queues",
        "clinic-ops",
        "hana.sato",
        "Make arriving at a clinic quick enough that nobody queues at the front desk",
        parent="visits-run-to-time",
        type=COMMITTED,
        krs=(
            _KR("checkin-minutes", "Cut average front-desk check-in time from 6.5 to 3 minutes",
                DEC, "min", 6.5, 3, progress=1.0),
            _KR("self-checkin-share",
                "Raise visits checked in at the kiosk or in the app from 12% to 45%", INC,
                "%", 12, 45, progress=0.9, owner="ravi.menon", dp=0),
        ),
    ),
    _Objective(
        "rotas-clinicians-can-plan-around",
        "clinic-ops",
        "hana.sato",
        "Give clinicians rotas they can plan their lives around",
        parent="visits-run-to-time",
        krs=(
            _KR("rotas-published-early",
                "Raise rotas published four weeks ahead from 40% to 90%", INC, "%", 40, 90,
                progress=0.7, dp=0),
            _KR("late-shift-changes", "Cut last-minute shift changes from 26 to 8 a month", DEC,
                "changes/month", 26, 8, progress=0.55, dp=0),
        ),
    ),
    _Objective(
        "rooms-ready-on-time",
        "clinic-ops",
        "hana.sato",
        "Have every consulting room ready when the clinician walks in",
        parent="visits-run-to-time",
        krs=(
            _KR("room-turnaround",
                "Cut room turnaround between appointments from 14 to 8 minutes", DEC, "min",
                14, 8, progress=0.9),
            _KR("equipment-faults",
                "Keep equipment faults that delay a session at or below 3 per clinic a month",
                BELOW, "per clinic/month", target=3, level=2.4),
        ),
    ),
    _Objective(
        "no-lost-referrals",
        "clinic-ops",
        "hana.sato",
        "Stop referrals from falling through the cracks between clinics",
        parent="visits-run-to-time",
        type=COMMITTED,
        krs=(
            _KR("referrals-actioned",
                "Raise referrals actioned within 48 hours from 63% to 95%", INC, "%", 63, 95,
                progress=0.85, dp=0),
            _KR("referral-chasers",
                "Cut patient calls chasing a referral from 120 to 30 a month", DEC,
                "calls/month", 120, 30, progress=0.75, dp=0),
            _KR("referral-pathway-approved",
                "New referral pathway approved by the clinical governance board", MILESTONE,
                progress=0.0, due_days=-10),
        ),
    ),
    _Objective(
        "schedules-everyone-trusts",
        "clinic-ops",
        "hana.sato",
        "Make clinic schedules something the whole company can trust",
        parent="visits-run-to-time",
        krs=(
            _KR("schedule-accuracy",
                "Raise appointments whose recorded start matches the actual start "
                "from 82% to 97%", INC, "%", 82, 97, progress=0.8, owner="ravi.menon"),
            _KR("manual-corrections", "Cut manual schedule corrections from 340 to 60 a week",
                DEC, "per week", 340, 60, progress=0.7, owner="ravi.menon", dp=0),
        ),
    ),
    _Objective(  # planted: kr-count (one key result only)
        "evening-clinics-patients-rely-on",
        "clinic-ops",
        "hana.sato",
        "Make evening clinics something working patients can rely on",
        parent="visits-run-to-time",
        krs=(
            _KR("evening-cancellations",
                "Cut evening sessions cancelled at short notice from 9% to 3%", DEC, "%", 9, 3,
                progress=0.65),
        ),
    ),
    _Objective(
        "video-visits-as-good-as-in-person",
        "telehealth",
        "amara.nwosu",
        "Make a video visit feel as complete as seeing someone in person",
        parent="visits-run-to-time",
        krs=(
            _KR("video-resolution",
                "Raise video visits resolved without an in-person follow-up from 68% to 80%",
                INC, "%", 68, 80, progress=0.75, dp=0),
            _KR("video-cut-short",
                "Cut video visits cut short by call quality from 6% to 2%", DEC, "%", 6, 2,
                progress=0.9),
            # planted: kr-is-task (an activity, not an outcome)
            _KR("hire-telehealth-gps", "Hire 3 additional telehealth GPs", INC, "GPs", 0, 3,
                progress=0.7, dp=0),
            _KR("video-satisfaction",
                "Keep post-visit satisfaction with video visits at or above 4.5 out of 5",
                ABOVE, "/5", target=4.5, level=4.6),
        ),
    ),
    _Objective(
        "prescriptions-without-phone-calls",
        "patient-app",
        "jonas.weber",
        "Let patients renew a repeat prescription without ever picking up the phone",
        parent="app-first-choice",
        type=COMMITTED,
        krs=(
            _KR("in-app-renewals",
                "Raise repeat prescriptions renewed in the app from 18% to 60%", INC, "%",
                18, 60, progress=0.85, owner="chloe.dubois", dp=0),
            _KR("prescription-calls",
                "Cut phone calls about repeat prescriptions from 2,400 to 900 a month", DEC,
                "calls/month", 2400, 900, progress=0.7, dp=-1),
            # planted: kr-not-measurable (an increase with no start and no target)
            _KR("renewal-ease", "Patients find renewing a prescription in the app easier", INC),
        ),
    ),
    _Objective(
        "app-that-just-works",
        "patient-app",
        "jonas.weber",
        "Make the app something patients never have to reinstall or restart",
        parent="app-first-choice",
        krs=(
            _KR("crash-free-sessions", "Keep crash-free app sessions at or above 99.5%", ABOVE,
                "%", target=99.5, kpi="crash-free-sessions", owner="chloe.dubois"),
            _KR("cold-start-time", "Cut the app's median cold-start time from 4.2 to 1.5 seconds",
                DEC, "s", 4.2, 1.5, progress=0.6),
            _KR("bug-reviews",
                "Cut one-star reviews that mention a bug from 31 to 10 a month", DEC,
                "reviews/month", 31, 10, progress=0.8, dp=0),
        ),
    ),
    _Objective(  # planted: orphan-objective (aligned to nothing)
        "on-call-without-dread",
        "platform",
        "sofia.marchetti",
        "Make on-call something our engineers no longer dread",
        krs=(
            _KR("out-of-hours-pages", "Cut out-of-hours pages from 23 to 8 a week", DEC,
                "pages/week", 23, 8, progress=0.8, owner="kwame.asante", dp=0),
            _KR("actionable-alerts",
                "Raise the share of alerts that needed a human from 35% to 85%", INC, "%",
                35, 85, progress=0.7, owner="kwame.asante", dp=0),
        ),
    ),
    _Objective(
        "dependable-app-backend",
        "platform",
        "sofia.marchetti",
        "Make the app's backend dependable enough that patients never notice it",
        parent="app-first-choice",
        krs=(
            _KR("api-availability",
                "Keep patient-facing API availability at or above 99.9%", ABOVE, "%",
                target=99.9, kpi="api-uptime", owner="kwame.asante"),
            # planted: kr-no-deadline (due two months after the quarter ends)
            _KR("ehr-sync-clinics",
                "Raise the share of clinics with real-time record sync from 30% to 100%", INC,
                "%", 30, 100, progress=0.5, due_days=61, dp=0),
            _KR("booking-api-latency",
                "Cut 95th-percentile booking API latency from 1,800 to 600 ms", DEC, "ms",
                1800, 600, progress=0.85, dp=-1),
            _KR("pen-test",
                "External penetration test passed with no high-severity findings", MILESTONE,
                progress=0.0, due_days=-14, owner="kwame.asante"),
        ),
    ),
    _Objective(  # planted: objective-vague
        "improve-marketing",
        "marketing",
        "leo.fontaine",
        "Improve our marketing",
        parent="first-name-families-think-of",
        krs=(
            _KR("campaign-bookings",
                "Raise first appointments booked from campaigns from 900 to 1,500 a month",
                INC, "bookings/month", 900, 1500, progress=0.75, dp=0),
            _KR("cost-per-booking", "Cut cost per campaign-sourced booking from £38 to £28", DEC,
                "£", 38, 28, progress=0.6),
        ),
    ),
    _Objective(
        "trusted-local-voice",
        "marketing",
        "leo.fontaine",
        "Become the voice parents in our towns trust on everyday health questions",
        parent="first-name-families-think-of",
        krs=(
            _KR("guide-visits",
                "Raise organic visits to our health guides from 45,000 to 70,000 a month",
                INC, "visits/month", 45000, 70000, progress=0.8, dp=-2),
            _KR("guide-to-booking",
                "Raise guide readers who go on to book from 1.8% to 3.5%", INC, "%", 1.8, 3.5,
                progress=0.55),
            _KR("review-score", "Keep our average Google review score at or above 4.6", ABOVE,
                "/5", target=4.6, level=4.7),
        ),
    ),
    # Revenue Cycle: most key results are KPIs it already measures (kpi-as-kr-everywhere).
    _Objective(  # planted: objective-is-metric
        "grow-net-revenue",
        "revenue-cycle",
        "nadia.haddad",
        "Grow net collected revenue by 20%",
        parent="growth-that-pays-for-itself",
        krs=(
            _KR("clean-claim-rate", "Raise the first-pass clean claim rate from 86% to 95%", INC,
                "%", 86, 95, kpi="clean-claim-rate"),
            _KR("days-in-ar", "Cut days in accounts receivable from 48 to 35", DEC, "days",
                48, 35, kpi="days-in-ar"),
            _KR("underpayments-recovered",
                "Raise underpaid claims recovered from insurers from 35% to 70%", INC, "%",
                35, 70, progress=0.7, owner="ravi.menon", dp=0),
        ),
    ),
    _Objective(
        "bills-patients-understand",
        "revenue-cycle",
        "nadia.haddad",
        "Send patients bills they understand and pay without having to call us",
        parent="growth-that-pays-for-itself",
        type=COMMITTED,
        krs=(
            _KR("billing-queries", "Cut billing queries from 14 to 6 per 100 statements", DEC,
                "per 100 statements", 14, 6, kpi="billing-queries", owner="ravi.menon"),
            _KR("self-pay-collection",
                "Raise self-pay balances collected within 60 days from 58% to 75%", INC, "%",
                58, 75, kpi="self-pay-collection"),
        ),
    ),
)

# The quarter before: closed and graded.
PREVIOUS: tuple[_Objective, ...] = (
    _Objective(
        "midlands-foothold",
        COMPANY_KEY,
        "maren.okafor",
        "Establish Larkspur as a real presence in the Midlands",
        reflection=(
            "Registrations tracked the plan once Derby opened in August, but the operating "
            "loss barely moved: locum cover for the new clinics cost far more than budgeted. "
            "Carry the region into next quarter with rotas and recruitment as the lever, not "
            "more marketing."
        ),
        krs=(
            _KR("midlands-patients",
                "Raise registered patients in the Midlands from 3,000 to 9,000", INC,
                "patients", 3000, 9000, progress=0.7, dp=-1),
            _KR("midlands-operating-loss",
                "Cut the monthly Midlands operating loss from £140k to £60k", DEC, "£k/month",
                140, 60, progress=0.4, dp=0),
        ),
    ),
    _Objective(
        "patients-come-back",
        COMPANY_KEY,
        "maren.okafor",
        "Earn the kind of care patients come back for and recommend to friends",
        reflection=(
            "Returning patients rose steadily once follow-ups were booked before people left "
            "the clinic. Routine waits improved, then stalled in September when two GPs left. "
            "Access becomes the company focus next quarter."
        ),
        krs=(
            _KR("returning-patients", "Raise patients who book again within a year from 48% to 60%",
                INC, "%", 48, 60, progress=0.75, dp=0),
            _KR("routine-waits",
                "Cut patients waiting over two weeks for a routine appointment from 18% to 8%",
                DEC, "%", 18, 8, progress=0.6, dp=0),
        ),
    ),
    _Objective(
        "continuity-of-care",
        "care",
        "tomas.lindqvist",
        "Make sure no patient loses the thread of their care between visits, shifts or channels",
        parent="patients-come-back",
        type=COMMITTED,
        reflection=(
            "Missed by a margin: handover incidents fell by two thirds, but the last clinics "
            "adopted the checklist late. Booking the follow-up at the desk is now routine. "
            "Incidents stay on the KPI board; no objective needed next quarter."
        ),
        krs=(
            _KR("handover-incidents", "Cut handover incidents from 12 to 4 a month", DEC,
                "incidents/month", 12, 4, progress=0.75, dp=0),
            _KR("follow-up-booked",
                "Raise patients leaving with their follow-up already booked from 64% to 85%",
                INC, "%", 64, 85, progress=0.8, dp=0),
        ),
    ),
    _Objective(
        "booking-without-friction",
        "product",
        "priya.raman",
        "Take the friction out of booking an appointment online",
        parent="patients-come-back",
        reflection=(
            "The new booking flow helped most on mobile web; the app lagged because the "
            "release slipped three weeks. Good enough for an aspirational objective; the app "
            "work continues under next quarter's app objective."
        ),
        krs=(
            _KR("online-booking-completion",
                "Raise online bookings completed once started from 52% to 70%", INC, "%", 52, 70,
                progress=0.6, dp=0),
            _KR("time-to-book", "Cut the median time to book online from 190 to 90 seconds", DEC,
                "s", 190, 90, progress=0.7, dp=0),
        ),
    ),
    _Objective(
        "midlands-familiar-name",
        "growth",
        "elliot.baptiste",
        "Make Larkspur a familiar name on Midlands high streets",
        parent="midlands-foothold",
        reflection=(
            "Acquisition got cheaper faster than awareness grew: local partnerships worked, "
            "radio did not. Drop radio; keep the school and pharmacy partnerships."
        ),
        krs=(
            _KR("midlands-aided-awareness",
                "Raise aided awareness of Larkspur in the Midlands from 8% to 20%", INC, "%",
                8, 20, progress=0.5, dp=0),
            _KR("midlands-cac", "Cut Midlands patient acquisition cost from £90 to £60", DEC, "£",
                90, 60, progress=0.8, dp=0),
        ),
    ),
    _Objective(
        "money-not-slipping-away",
        "growth",
        "elliot.baptiste",
        "Stop money we have already earned from slipping away in billing",
        parent="midlands-foothold",
        type=COMMITTED,
        reflection=(
            "Leakage fell once coding errors were caught before submission; write-offs will "
            "lag by a quarter. Not met, but the cause is understood and the fixes are in place."
        ),
        krs=(
            _KR("revenue-leakage", "Cut revenue lost to coding errors from 6.5% to 3%", DEC, "%",
                6.5, 3, progress=0.6),
            _KR("bad-debt-write-offs", "Cut quarterly bad-debt write-offs from £210k to £120k",
                DEC, "£k", 210, 120, progress=0.5, dp=0),
        ),
    ),
    _Objective(  # planted: committed-missed (graded below 1.0, no reflection)
        "complete-handovers",
        "clinic-ops",
        "hana.sato",
        "Make every shift handover complete, even on the busiest days",
        parent="continuity-of-care",
        type=COMMITTED,
        krs=(
            _KR("handover-notes-complete",
                "Raise handovers with complete notes from 61% to 95%", INC, "%", 61, 95,
                progress=0.5, dp=0),
            _KR("handover-overrun", "Cut the average handover overrun from 22 to 10 minutes", DEC,
                "min", 22, 10, progress=0.6, dp=0),
        ),
    ),
    _Objective(
        "video-for-follow-ups",
        "telehealth",
        "amara.nwosu",
        "Make video the natural choice for routine follow-ups",
        parent="continuity-of-care",
        reflection=(
            "Patients over seventy still prefer the phone; the share grew everywhere else. "
            "Missed video follow-ups stayed high until reminders went out the evening before."
        ),
        krs=(
            _KR("video-follow-up-share",
                "Raise routine follow-ups held on video from 20% to 40%", INC, "%", 20, 40,
                progress=0.65, dp=0),
            _KR("missed-video-follow-ups", "Cut missed video follow-ups from 9% to 5%", DEC, "%",
                9, 5, progress=0.5),
        ),
    ),
    _Objective(
        "first-try-booking",
        "patient-app",
        "jonas.weber",
        "Let patients finish booking in the app on their first try",
        parent="booking-without-friction",
        reflection=(
            "Errors dropped sharply after the slot-locking fix; completion improved less than "
            "hoped because the new flow shipped late. Carry completion into the app objective."
        ),
        krs=(
            _KR("app-booking-completion",
                "Raise app bookings completed once started from 48% to 70%", INC, "%", 48, 70,
                progress=0.55, dp=0),
            _KR("booking-errors", "Cut bookings that fail with an error from 4% to 1%", DEC, "%",
                4, 1, progress=0.8),
        ),
    ),
    _Objective(  # planted: sandbagging (every key result graded 1.0)
        "quiet-releases",
        "platform",
        "sofia.marchetti",
        "Make releasing to production a non-event",
        parent="booking-without-friction",
        reflection=(
            "Every target was met by week five: we set them from last year's numbers, not from "
            "where we already were. Next quarter's targets start from today's baseline."
        ),
        krs=(
            _KR("change-failure-rate", "Cut the change failure rate from 18% to 15%", DEC, "%",
                18, 15, progress=1.4, owner="kwame.asante", dp=0),
            _KR("merge-to-production",
                "Cut the median time from merge to production from 5 to 4 days", DEC, "days",
                5, 4, progress=1.5),
            _KR("rollback-time", "Cut the time to roll back a bad release from 30 to 25 minutes",
                DEC, "min", 30, 25, progress=1.3, owner="kwame.asante", dp=0),
        ),
    ),
    _Objective(
        "see-problems-first",
        "platform",
        "sofia.marchetti",
        "Give every engineer the signals to see a problem before a patient does",
        parent="booking-without-friction",
        reflection=(
            "Detection time halved where services have SLOs; the rest still rely on patients "
            "telling us. Carry the SLO work into the on-call objective."
        ),
        krs=(
            _KR("time-to-detect", "Cut the median time to detect an incident from 45 to 10 minutes",
                DEC, "min", 45, 10, progress=0.5, owner="kwame.asante", dp=0),
            _KR("services-with-slos", "Raise services with an agreed SLO from 30% to 80%", INC,
                "%", 30, 80, progress=0.6, dp=0),
        ),
    ),
    _Objective(
        "midlands-families-talking",
        "marketing",
        "leo.fontaine",
        "Get Midlands families talking about the new clinic on their high street",
        parent="midlands-familiar-name",
        reflection=(
            "School newsletters and pharmacy leaflets brought most first bookings; paid social "
            "was expensive for what it brought. Shift the budget next quarter."
        ),
        krs=(
            _KR("midlands-campaign-bookings",
                "Raise first bookings from Midlands campaigns from 150 to 600 a month", INC,
                "bookings/month", 150, 600, progress=0.6, dp=0),
            _KR("midlands-cost-per-booking",
                "Cut the cost per Midlands campaign booking from £55 to £40", DEC, "£", 55, 40,
                progress=0.47, dp=0),
        ),
    ),
    _Objective(
        "claims-paid-first-time",
        "revenue-cycle",
        "nadia.haddad",
        "Get insurers paying our claims the first time we send them",
        parent="money-not-slipping-away",
        type=COMMITTED,
        reflection=(
            "Clean claims improved once the pre-submission checks went live in August, but two "
            "insurers changed their rules mid-quarter. Appeals are faster. Carry over."
        ),
        krs=(
            _KR("first-pass-claims", "Raise first-pass clean claims from 82% to 92%", INC, "%",
                82, 92, kpi="clean-claim-rate"),
            _KR("appeal-turnaround", "Cut the time to appeal a denied claim from 21 to 10 days",
                DEC, "days", 21, 10, progress=0.7, owner="ravi.menon", dp=0),
        ),
    ),
)

UP, DOWN = Direction.UP, Direction.DOWN
WEEKLY, MONTHLY, QUARTERLY = Cadence.WEEKLY, Cadence.MONTHLY, Cadence.QUARTERLY
KEY, DIAGNOSTIC = Tier.KEY, Tier.DIAGNOSTIC

KPIS: tuple[_Kpi, ...] = (
    # Clinic Operations: eight key-tier KPIs (kpi-too-many).
    _Kpi(
        CRITICAL_KPI, "Booking line answer time", "clinic-ops", "hana.sato", "s", DOWN, WEEKLY,
        KEY, target=45, warning=90, critical=150, benchmark=60,
        definition=(
            "Mean seconds from a caller choosing 'book or change an appointment' to a person "
            "answering, all clinics, weekdays 08:00-18:30."
        ),
        why="Patients who cannot get through book elsewhere; protects effortless access to care.",
        how="Call-centre staffing model, the call-back option, moving routine bookings to the app.",
        source="telephony export", first=50, last=49, noise=3, dp=0,
        tail=(55, 49, 61, 212),
        last_note="Phone platform migration: calls queued in the old menu for most of Tuesday.",
    ),
    _Kpi(
        DETERIORATING_KPI, "Appointment no-show rate", "clinic-ops", "ravi.menon", "%", DOWN,
        MONTHLY, KEY, target=5, warning=8, critical=11, benchmark=7.5,
        definition=(
            "Booked in-clinic appointments where the patient neither attended nor cancelled, "
            "as a share of all booked appointments, per calendar month."
        ),
        why="Every empty slot is a patient on the waiting list who could have been seen.",
        how="Reminder messages, one-tap cancelling in the app, overbooking high-risk slots.",
        source="EHR nightly job", first=5.1, last=7.0, noise=0.2,
        tail=(7.2, 7.7, 8.2, 8.8, 9.4),
        last_note="Rise concentrated in Monday morning slots since the SMS provider changed.",
    ),
    _Kpi(
        "clinic-utilisation", "Clinician session utilisation", "clinic-ops", "ravi.menon", "%",
        UP, WEEKLY, KEY, target=85, warning=78, critical=70, benchmark=80,
        definition="Booked patient minutes divided by rostered clinical minutes, all clinics.",
        why="Idle sessions are waiting lists elsewhere; protects access and clinic economics.",
        how="Session templates, releasing unused slots 48 hours ahead, cross-clinic booking.",
        source="EHR nightly job", first=85.5, last=86.2, noise=0.9,
    ),
    _Kpi(
        "reception-wait", "Average wait in reception", "clinic-ops", "hana.sato", "min", DOWN,
        WEEKLY, KEY, target=10, warning=15, critical=20,
        definition="Minutes from checking in to being called in, averaged over the week's visits.",
        why="Long waits are the top complaint in patient surveys; protects visits running on time.",
        how="Buffers in session templates, the room turnaround routine, late-running alerts.",
        source="kiosk log", first=13.8, last=9.1, noise=0.45,
    ),
    _Kpi(
        "cancellation-rate", "Clinic-initiated cancellations", "clinic-ops", "hana.sato", "%",
        DOWN, MONTHLY, KEY, target=1.5, warning=2.5, critical=4,
        definition=(
            "Appointments cancelled or moved by Larkspur rather than by the patient, as a share "
            "of all booked appointments, per month."
        ),
        why="Each cancellation we cause costs trust and re-booking work; protects return visits.",
        how="Stable rotas, leave planned six weeks ahead, a locum pool for short notice gaps.",
        source="EHR nightly job", first=2.4, last=1.3, noise=0.08, dp=2,
    ),
    _Kpi(
        "infection-control-audit", "Infection-control audit score", "clinic-ops", "hana.sato",
        "%", UP, QUARTERLY, KEY, target=95, warning=90, critical=85,
        definition="Mean score of the quarterly infection-prevention audits across all clinics.",
        why="A failed audit closes rooms and puts patients at risk; protects safe care.",
        how="Monthly self-audits, the cleaning contract, a hand-hygiene champion in each clinic.",
        source="audit report", first=92, last=97, noise=0.4,
    ),
    _Kpi(
        "locum-share", "Locum share of clinician hours", "clinic-ops", "hana.sato", "%", DOWN,
        MONTHLY, KEY, target=8, warning=12, critical=16,
        definition="Hours worked by locum clinicians as a share of all clinical hours, per month.",
        why="Locums cost far more and break continuity; protects the Midlands operating plan.",
        how="The recruitment pipeline, a bank staff pool, rotas planned four weeks ahead.",
        source="rota system", first=11.8, last=7.4, noise=0.3,
    ),
    _Kpi(
        "complaints-per-1000", "Formal complaints per 1,000 visits", "clinic-ops", "hana.sato",
        "per 1,000", DOWN, MONTHLY, KEY, target=1.5, warning=2.5, critical=3.5,
        definition="Formal written complaints received per 1,000 completed visits, per month.",
        why="The clearest signal that care or access went wrong for someone; protects trust.",
        how="Same-day call-back on every complaint, monthly review of themes with clinic leads.",
        source="complaints log", first=2.1, last=1.25, noise=0.08, dp=2,
    ),
    # Telehealth
    _Kpi(
        "video-connect-rate", "Video visits connecting first time", "telehealth", "amara.nwosu",
        "%", UP, WEEKLY, KEY, target=97, warning=93, critical=90, benchmark=95,
        definition="Video visits where patient and clinician connect on the first attempt.",
        why="A failed call turns a ten-minute visit into a frustrated phone call.",
        how="Pre-visit device check, fallback to phone audio, network monitoring.",
        source="video platform API", first=96.2, last=96.6, noise=0.3,
    ),
    _Kpi(
        "video-wait", "Virtual waiting-room wait", "telehealth", "amara.nwosu", "min", DOWN,
        WEEKLY, DIAGNOSTIC, target=5, warning=10, critical=15,
        definition="Minutes patients spend in the virtual waiting room before the clinician joins.",
        why="Explains drops in video satisfaction and missed video visits.",
        how="Clinician session templates with buffers, running-late notifications.",
        source="video platform API", first=7.8, last=4.6, noise=0.35,
    ),
    # Patient App
    _Kpi(
        "app-booking-share", "Appointments booked in the app", "patient-app", "jonas.weber", "%",
        UP, WEEKLY, KEY, target=55, warning=35, critical=30,
        definition="Appointments booked in the Larkspur app as a share of all bookings made.",
        why="Every app booking is a phone call saved; protects 'Make the app the way most "
        "patients choose to reach us'.",
        how="Booking flow improvements, prompts after each visit, receptionists showing the app.",
        source="app analytics", first=30, last=46.5, noise=0.5, boundary=38,
    ),
    _Kpi(
        "booking-support-contacts", "Support contacts per 1,000 app bookings", "patient-app",
        "chloe.dubois", "per 1,000", DOWN, WEEKLY, KEY, target=12, warning=18, critical=25,
        benchmark=15,
        definition="Calls, chats and e-mails about an app booking, per 1,000 app bookings.",
        why="Guards app adoption: more app bookings must not mean more confused patients.",
        how="Clear confirmations, fixing the top contact reasons every sprint.",
        source="helpdesk export", first=11.2, last=10.8, noise=0.4,
        tail=(11.2, 11.0, 11.1, 10.9, 10.8),  # a guard rail holding: no gaming alert
    ),
    _Kpi(
        "crash-free-sessions", "Crash-free app sessions", "patient-app", "chloe.dubois", "%", UP,
        WEEKLY, DIAGNOSTIC, target=99.5, warning=99.0, critical=98.5,
        definition="App sessions that end without a crash, iOS and Android together.",
        why="Explains sudden drops in app rating and app bookings.",
        how="Crash triage every morning, staged rollouts, automated UI tests.",
        source="crash reporter", first=99.18, last=99.68, noise=0.04, dp=2, boundary=99.45,
    ),
    # Platform
    _Kpi(
        "api-uptime", "Patient-facing API availability", "platform", "kwame.asante", "%", UP,
        MONTHLY, KEY, target=99.9, warning=99.5, critical=99.0,
        definition="Share of minutes in the month in which the patient API answered health checks.",
        why="When the API is down, nobody can book, renew or join a video visit.",
        how="Redundant regions, SLOs with error budgets, on-call runbooks.",
        source="status page", first=99.71, last=99.95, noise=0.02, dp=2, boundary=99.86,
    ),
    # Marketing. planted: kpi-card-incomplete (no "why")
    _Kpi(
        "website-conversion", "Website visit-to-booking conversion", "marketing", "leo.fontaine",
        "%", UP, MONTHLY, KEY, target=3.0, warning=2.2, critical=1.8, benchmark=2.5,
        definition="Website sessions that end in a booked first appointment, per month.",
        why="",
        how="Landing pages per clinic, booking widget on every guide, page speed.",
        source="web analytics", first=2.4, last=3.1, noise=0.06, dp=2,
    ),
    # Revenue Cycle
    _Kpi(
        "clean-claim-rate", "First-pass clean claim rate", "revenue-cycle", "nadia.haddad", "%",
        UP, WEEKLY, KEY, target=95, warning=84, critical=80, benchmark=90,
        definition="Insurance claims accepted without edits or rejection on first submission.",
        why="Every rejected claim delays cash by weeks and costs staff time to rework.",
        how="Pre-submission checks, coding training, payer rule updates.",
        source="billing system", first=80.5, last=90.2, noise=0.4, prev_start=82, boundary=86,
    ),
    _Kpi(
        "days-in-ar", "Days in accounts receivable", "revenue-cycle", "nadia.haddad", "days", DOWN,
        MONTHLY, KEY, target=35, warning=50, critical=60, benchmark=45,
        definition="Outstanding receivables divided by average daily net revenue, at month end.",
        why="Cash tied up in receivables is cash we cannot spend on new clinics.",
        how="Clean claims, weekly follow-up of claims over 30 days, payment plans.",
        source="finance close", first=53, last=44.5, noise=0.5, boundary=48,
    ),
    _Kpi(
        "billing-queries", "Billing queries per 100 statements", "revenue-cycle", "ravi.menon",
        "per 100", DOWN, MONTHLY, KEY, target=6, warning=15, critical=18,
        definition="Patient calls, e-mails and chats about a bill, per 100 statements sent.",
        why="A confusing bill is paid late and costs a phone call; protects patient trust.",
        how="Plain-language statements, itemised costs, online payment links.",
        source="helpdesk export", first=15.2, last=11.2, noise=0.25, boundary=14,
    ),
    _Kpi(
        "self-pay-collection", "Self-pay balances collected within 60 days", "revenue-cycle",
        "nadia.haddad", "%", UP, MONTHLY, KEY, target=75, warning=55, critical=45,
        definition="Patient-owed balances paid in full within 60 days of the first statement.",
        why="Self-pay is a fifth of revenue; late payment turns into bad debt.",
        how="Pay-by-link statements, card on file, reminders before the due date.",
        source="billing system", first=53.5, last=63.5, noise=0.5, boundary=58,
    ),
    # Company and departments
    _Kpi(
        "monthly-recurring-revenue", "Monthly recurring revenue", COMPANY_KEY, "maren.okafor",
        "£k", UP, MONTHLY, KEY, target=1150, warning=950, critical=850,
        definition="Recurring revenue from memberships and employer contracts at month end.",
        why="Funds the expansion into new regions without new borrowing.",
        how="Membership plans, employer contracts, retention of first-year patients.",
        source="finance close", first=860, last=1182, noise=9, dp=0,
    ),
    _Kpi(  # stale: kpi-not-reviewed
        STALE_KPI, "Mandatory training completion", "care", "tomas.lindqvist", "%", UP, MONTHLY,
        KEY, target=98, warning=92, critical=85,
        definition="Clinical staff up to date with every mandatory training module, at month end.",
        why="Regulators inspect it, and lapsed training is how avoidable incidents start.",
        how="Protected training time in rotas, reminders 30 days before expiry.",
        source="HR system export", first=93, last=96.2, noise=0.35, stale_days=75,
        last_note="Last export before the HR system switch-over.",
    ),
    _Kpi(
        "brand-awareness", "Aided brand awareness", "growth", "elliot.baptiste", "%", UP,
        QUARTERLY, KEY, target=30, warning=12, critical=8,
        definition="Adults in our regions who recognise Larkspur from a list, quarterly survey.",
        why="Families cannot choose us if they have not heard of us; protects regional growth.",
        how="Local partnerships, clinic openings, the health guides.",
        source="survey panel", first=14, last=21, noise=0.5,
    ),
)

# fmt: on

# --------------------------------------------------------------------------- check-in words

_FIRST = (
    "Baseline confirmed with the team; first changes start this week.",
    "Agreed how we measure this and checked the starting point against last quarter.",
)
_ON = (
    "Ahead of plan; the new way of working has stuck in most clinics.",
    "Good week. The biggest gain came from the Leeds clinics.",
    "Moving steadily; no blockers worth raising.",
    "Moved the right way again after Tuesday's change went live.",
    "On pace. Next step is the same change in the Midlands sites.",
    "Solid week; the team now looks at this every morning.",
)
_AT_RISK = (
    "Slower than planned; two clinics are still on the old process.",
    "Flat week with half-term lowering volumes; expecting a catch-up.",
    "Some progress, but the supplier fix slipped a week.",
    "Moved a little. The rota change has to land before this really shifts.",
    "Holding, not improving yet. Reviewing what changed with the team on Thursday.",
)
_OFF = (
    "Stuck. Waiting on the platform team; escalated at Monday's review.",
    "Went backwards after staff sickness in three clinics.",
    "Little movement; rethinking the approach rather than pushing harder.",
    "Not moving. Asked for help at the leadership review.",
)
_GUARD_OK = (
    "Comfortably inside the limit.",
    "Inside the guard rail again this week.",
    "Steady; nothing to act on.",
)
_GUARD_BREACHED = (
    "Outside the limit this week; looking into the cause before it becomes a pattern.",
    "Still the wrong side of the line. Action plan agreed with the clinic leads.",
)
_MILESTONE_OPEN = (
    "Working through the last open questions; on course.",
    "Draft with the reviewers; waiting on feedback.",
    "Scheduled; nothing new this week.",
)
_MILESTONE_DONE = "Done and signed off. Thanks to everyone who pushed it over the line."
_FINAL = "Final reading for the quarter."
_BEYOND = "Already past the target; keeping an eye on it."

# --------------------------------------------------------------------------- dates


def _quarter(day: date) -> tuple[date, date]:
    """First and last day of the calendar quarter containing ``day``."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    nxt = date(day.year + 1, 1, 1) if first_month == 10 else date(day.year, first_month + 3, 1)
    return start, nxt - timedelta(days=1)


def _quarter_key(start: date) -> str:
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def _month_end(year: int, month: int) -> date:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return nxt - timedelta(days=1)


def _period_ends(cadence: str, until: date, count: int) -> list[date]:
    """The last ``count`` period ends (Sundays, month ends, quarter ends) on or before ``until``."""
    ends: list[date] = []
    if cadence == WEEKLY:
        last = until - timedelta(days=(until.weekday() + 1) % 7)
        ends = [last - timedelta(weeks=i) for i in range(count)]
    elif cadence == MONTHLY:
        year, month = until.year, until.month
        if _month_end(year, month) != until:
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        for _ in range(count):
            ends.append(_month_end(year, month))
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    else:
        _, end = _quarter(until)
        if end != until:
            end = _quarter(until)[0] - timedelta(days=1)
        for _ in range(count):
            ends.append(end)
            end = _quarter(end)[0] - timedelta(days=1)
    return sorted(ends)


PERIODS: dict[str, int] = {WEEKLY: 60, MONTHLY: 15, QUARTERLY: 6}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


# --------------------------------------------------------------------------- KPI series


def _worse(before: float, after: float, direction: str) -> bool:
    return after > before if direction == DOWN else after < before


def _kpi_series(
    spec: _Kpi, today: date, cur_start: date, prev_start: date
) -> list[tuple[date, float]]:
    """The demo measurements of one KPI: (period end, value), oldest first."""
    until = today - timedelta(days=spec.stale_days)
    ends = _period_ends(spec.cadence, until, PERIODS[spec.cadence])
    n = len(ends)

    def index_on_or_before(day: date) -> int | None:
        found = [i for i, end in enumerate(ends) if end <= day]
        return found[-1] if found else None

    anchors: dict[int, float] = {0: spec.first}
    last = spec.last
    boundary_index = index_on_or_before(cur_start)
    if spec.boundary is not None and boundary_index is not None:
        # ``last`` is where a linked KPI stands eight weeks into the quarter; earlier in the
        # quarter it has moved only part of the way.
        weeks = (ends[-1] - ends[boundary_index]).days / 7
        last = spec.boundary + (spec.last - spec.boundary) * min(1.0, weeks / 8)
    anchors[n - 1] = last
    pinned: set[int] = set()
    for day, value in ((prev_start, spec.prev_start), (cur_start, spec.boundary)):
        i = index_on_or_before(day)
        if value is not None and i is not None:
            anchors[i] = value
            pinned.add(i)

    rng = random.Random(f"{SEED}:kpi:{spec.key}")
    noise = [rng.gauss(0, spec.noise) for _ in range(n)]  # drawn from the newest backwards
    points = sorted(anchors.items())
    values: list[float] = []
    for i in range(n):
        lo = max((p for p in points if p[0] <= i), key=lambda p: p[0])
        hi = min((p for p in points if p[0] >= i), key=lambda p: p[0])
        if lo[0] == hi[0]:
            values.append(lo[1])
            continue
        share = (i - lo[0]) / (hi[0] - lo[0])
        values.append(lo[1] + (hi[1] - lo[1]) * share + noise[n - 1 - i])
    for offset, value in enumerate(spec.tail):
        values[n - len(spec.tail) + offset] = value
    values = [round(v, spec.dp) for v in values]
    # Noise must not make a healthy KPI look deteriorating (three wrong-way moves).
    if (
        not spec.tail
        and n >= 4
        and all(_worse(values[i - 1], values[i], spec.direction) for i in (n - 3, n - 2, n - 1))
    ):
        i = n - 2 if n - 2 not in pinned else n - 3
        values[i] = values[i + 1]
    return list(zip(ends, values, strict=True))


# --------------------------------------------------------------------------- check-ins


@dataclass(frozen=True, slots=True)
class _Point:
    at: datetime
    value: float | None
    done: bool | None
    confidence: int
    comment: str


def _score(kr: _KR, value: float) -> float:
    assert kr.start is not None
    assert kr.target is not None
    return min(1.0, max(0.0, (value - kr.start) / (kr.target - kr.start)))


def _checkin_moments(
    start: date, end: date, closed: bool, now: datetime, minutes: int
) -> list[datetime]:
    """Weekly check-ins on Mondays after the cycle starts; a closing one on the last day."""
    day = start + timedelta(days=(7 - start.weekday()) % 7 or 7)
    moments: list[datetime] = []
    while day <= end:
        at = datetime.combine(day, time(9), UTC) + timedelta(minutes=minutes)
        if at <= now:
            moments.append(at)
        day += timedelta(weeks=1)
    if closed and (not moments or moments[-1].date() != end):
        moments.append(datetime.combine(end, time(16), UTC))
    return moments


def _pick(options: Sequence[str], draw: float) -> str:
    return options[min(len(options) - 1, int(draw * len(options)))]


def _checkins(
    obj_key: str, kr: _KR, start: date, end: date, closed: bool, now: datetime
) -> list[_Point]:
    """The demo check-in history of one manually checked-in key result."""
    rng = random.Random(f"{SEED}:kr:{obj_key}/{kr.key}")
    minutes = rng.randrange(0, 240, 5)
    moments = _checkin_moments(start, end, closed, now, minutes)
    span = max(1, (end - start).days)
    points: list[_Point] = []
    for n, at in enumerate(moments):
        # Three draws per moment whatever the branch, so the history of a moment never
        # depends on how many moments follow it.
        wobble, conf_draw, text_draw = rng.gauss(0, 1), rng.random(), rng.random()
        elapsed = min(1.0, (at.date() - start).days / span)
        final = closed and n == len(moments) - 1
        value: float | None = None
        done: bool | None = None
        if kr.kind in (INC, DEC):
            assert kr.start is not None
            assert kr.target is not None
            if final:
                progress = kr.progress
            elif closed and kr.progress >= 1:
                progress = min(kr.progress, 3.2 * elapsed)
            elif closed:
                progress = kr.progress * elapsed**0.85 + 0.03 * wobble
            else:
                progress = kr.progress * elapsed + 0.03 * wobble
            value = round(kr.start + (kr.target - kr.start) * progress, kr.dp)
            status = _status(_score(kr, value), elapsed)
            if n == 0 and not final:
                comment, confidence = _pick(_FIRST, text_draw), 6 + int(conf_draw * 2)
            elif progress >= 1:
                comment, confidence = _BEYOND, 9 + int(conf_draw * 2)
            else:
                comment, confidence = _status_words(status, text_draw, conf_draw)
        elif kr.kind in (ABOVE, BELOW):
            assert kr.level is not None
            assert kr.target is not None
            gap = kr.level - kr.target
            last = n == len(moments) - 1
            value = kr.level if last else kr.level + gap * max(-0.8, min(0.8, 0.35 * wobble))
            value = round(value, max(kr.dp, 1))
            ok = value >= kr.target if kr.kind == ABOVE else value <= kr.target
            comment = _pick(_GUARD_OK if ok else _GUARD_BREACHED, text_draw)
            confidence = (8 if ok else 4) + int(conf_draw * 2)
        else:  # milestone
            done = kr.progress >= 1 and elapsed >= (0.6 if closed else 0.35)
            if done:
                comment, confidence = _MILESTONE_DONE, 10
            else:
                comment = _pick(_MILESTONE_OPEN, text_draw)
                confidence = (7 if kr.progress >= 1 else 5) + int(conf_draw * 2)
        if final and comment not in (_BEYOND, _MILESTONE_DONE):
            comment = f"{_FINAL} {comment}"
        points.append(_Point(at, value, done, min(10, confidence), comment))
    return points


def _status(score: float, expected: float) -> str:
    if score >= expected - 0.10:
        return "on_track"
    if score >= expected - 0.25:
        return "at_risk"
    return "off_track"


def _status_words(status: str, text_draw: float, conf_draw: float) -> tuple[str, int]:
    if status == "on_track":
        return _pick(_ON, text_draw), 7 + int(conf_draw * 3)
    if status == "at_risk":
        return _pick(_AT_RISK, text_draw), 5 + int(conf_draw * 2)
    return _pick(_OFF, text_draw), 2 + int(conf_draw * 3)


# --------------------------------------------------------------------------- saving


def _differs(obj: models.Model, name: str, value: Any) -> bool:
    field = obj._meta.get_field(name)
    if isinstance(field, models.ForeignKey):
        return bool(getattr(obj, field.attname) != (value.pk if value is not None else None))
    return bool(getattr(obj, name) != value)


def _upsert[M: models.Model](model: type[M], lookup: dict[str, Any], values: dict[str, Any]) -> M:
    """Create the row, or update it only when something differs (so no empty history)."""
    obj = model._default_manager.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.save()
        return obj
    changed = [name for name, value in values.items() if _differs(obj, name, value)]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save()
    return obj


def _email(handle: str) -> str:
    return handle if "@" in handle else f"{handle}@{DOMAIN}"


def _load_people() -> dict[str, Person]:
    hashed: str | None = None
    people: dict[str, Person] = {}
    for spec in PEOPLE:
        email = _email(spec.handle)
        is_admin = email == DEMO_ADMIN_EMAIL
        person = Person.objects.filter(email=email).first()
        if person is None:
            hashed = hashed or make_password(DEMO_PASSWORD)
            person = Person(email=email, name=spec.name, password=hashed)
            person.is_staff = person.is_superuser = is_admin
            person.save()
        else:
            changed = person.name != spec.name or not person.is_active
            person.name, person.is_active = spec.name, True
            if is_admin:
                changed |= not (person.is_staff and person.is_superuser)
                person.is_staff = person.is_superuser = True
                if not person.check_password(DEMO_PASSWORD):
                    person.set_password(DEMO_PASSWORD)
                    changed = True
            if changed:
                person.save()
        people[spec.handle] = person
    return people


def _load_teams(people: dict[str, Person]) -> dict[str, Team]:
    teams: dict[str, Team] = {}
    for spec in TEAMS:
        teams[spec.key] = _upsert(
            Team,
            {"key": spec.key},
            {
                "name": spec.name,
                "kind": spec.kind,
                "parent": teams[spec.parent] if spec.parent else None,
                "checkin_cadence_days": 7,
            },
        )
    for person_spec in PEOPLE:
        for team_key, role in person_spec.roles:
            _upsert(
                Membership,
                {"person": people[person_spec.handle], "team": teams[team_key]},
                {"role": role},
            )
    return teams


def _load_kpis(
    people: dict[str, Person],
    teams: dict[str, Team],
    today: date,
    now: datetime,
    cur_start: date,
    prev_start: date,
) -> dict[str, tuple[Kpi, list[tuple[date, float]]]]:
    loaded: dict[str, tuple[Kpi, list[tuple[date, float]]]] = {}
    # Targets that change by period: the no-show target tightened from 6% last quarter to
    # 5% this one (the thresholds stay, so health reads as before; the chart draws a step).
    schedules = {
        DETERIORATING_KPI: [
            {"from": prev_start.isoformat(), "target": 6.0, "warning": 8.0, "critical": 11.0},
            {"from": cur_start.isoformat(), "target": 5.0, "warning": 8.0, "critical": 11.0},
        ]
    }
    for spec in KPIS:
        series = _kpi_series(spec, today, cur_start, prev_start)
        latest_day, latest_value = series[-1]
        latest_at = _midnight(latest_day)
        kpi = _upsert(
            Kpi,
            {"key": spec.key},
            {
                "name": spec.name,
                "unit": spec.unit,
                "definition": spec.definition,
                "why": spec.why,
                "how": spec.how,
                "team": teams[spec.team],
                "owner": people[spec.owner] if spec.owner else None,
                "direction": spec.direction,
                "target": spec.target,
                "warning": spec.warning,
                "critical": spec.critical,
                "benchmark": spec.benchmark,
                "target_schedule": schedules.get(spec.key, []),
                "cadence": spec.cadence,
                "tier": spec.tier,
                "latest_value": latest_value,
                "latest_at": latest_at,
            },
        )
        loaded[spec.key] = (kpi, series)

    existing = {
        (m.kpi_id, m.at): m
        for m in Measurement.objects.filter(kpi__in=[kpi for kpi, _ in loaded.values()])
    }
    create: list[Measurement] = []
    update: list[Measurement] = []
    for spec in KPIS:
        kpi, series = loaded[spec.key]
        for n, (day, value) in enumerate(series):
            at = _midnight(day)
            note = spec.last_note if n == len(series) - 1 else ""
            row = existing.get((kpi.pk, at))
            if row is None:
                create.append(
                    Measurement(kpi=kpi, at=at, value=value, source=spec.source, note=note)
                )
            elif (row.value, row.source, row.note) != (value, spec.source, note):
                row.value, row.source, row.note = value, spec.source, note
                update.append(row)
    Measurement.objects.bulk_create(create, batch_size=500, ignore_conflicts=True)
    Measurement.objects.bulk_update(update, ["value", "source", "note"], batch_size=500)
    # Health, trend and streaks as the product computes them (bulk, so no history rows).
    refresh_kpis(kpi_ids=[kpi.pk for kpi, _ in loaded.values()], at=now)
    _load_reviews(loaded, people, _midnight(cur_start))
    for kpi, _ in loaded.values():
        kpi.refresh_from_db()
    return loaded


def _load_reviews(
    loaded: dict[str, tuple[Kpi, list[tuple[date, float]]]],
    people: dict[str, Person],
    at: datetime,
) -> None:
    """Selection reviews ("still the right KPI?") at the start of this quarter, once."""
    reviews: tuple[tuple[str, str, str, dict[str, list[float]], str], ...] = (
        (CRITICAL_KPI, "hana.sato", "confirm", {},
         "Still what patients feel first; the platform migration is a one-off, not a new normal."),
        (DETERIORATING_KPI, "ravi.menon", "retarget", {"target": [6.0, 5.0]},
         "The reminder pilot halved no-shows where it ran: 5% is within reach this quarter."),
    )  # fmt: skip
    for key, who, decision, changes, reason in reviews:
        kpi = loaded[key][0]
        KpiReview.objects.get_or_create(
            kpi=kpi, at=at,
            defaults={"by": people[who], "decision": decision, "reason": reason,
                      "changes": changes},
        )  # fmt: skip
        Kpi.objects.filter(pk=kpi.pk).update(selection_reviewed_at=at)


def _kpi_value_on(series: Sequence[tuple[date, float]], day: date) -> float:
    """The KPI's value for the last period ending on or before ``day``."""
    return [value for end, value in series if end <= day][-1]


def _earlier(specs: Sequence[_Objective], back: int) -> tuple[_Objective, ...]:
    """The closed quarter's objectives ``back`` quarters earlier: same aims, other outcomes.

    Keys get a ``-<back>q-back`` suffix (stable, so reruns match them); each key result's
    outcome is drawn (seeded) around the closed quarter's, never all 1.0 (that would be
    sandbagging); committed objectives get a reflection.
    """

    def key(k: str) -> str:
        return f"{k}-{back}q-back"

    earlier = []
    for spec in specs:
        rng = random.Random(f"{SEED}:earlier:{back}:{spec.key}")
        krs = []
        for kr in spec.krs:
            draw = rng.uniform(0.5, 1.15)
            progress = (
                (1.0 if draw > 0.75 else 0.0)
                if kr.kind == MILESTONE
                else min(1.0, round(kr.progress * draw, 2))
            )
            krs.append(replace(kr, progress=progress, due_days=None))
        counted = [i for i, kr in enumerate(krs) if kr.kind in (INC, DEC, MILESTONE)]
        # 0.9 and up can round to the target: keep one key result clearly short of it.
        if counted and all(krs[i].progress >= 0.9 for i in counted):
            first = counted[0]
            krs[first] = replace(krs[first], progress=0.0 if krs[first].kind == MILESTONE else 0.6)
        earlier.append(
            replace(
                spec,
                key=key(spec.key),
                parent=key(spec.parent) if spec.parent else None,
                krs=tuple(krs),
                reflection=spec.reflection or _EARLIER_REFLECTION,
            )
        )
    return tuple(earlier)


def _load_objectives(
    specs: Iterable[_Objective],
    cycle: Cycle,
    closed: bool,
    people: dict[str, Person],
    teams: dict[str, Team],
    kpis: dict[str, tuple[Kpi, list[tuple[date, float]]]],
    now: datetime,
    checkins: list[tuple[KeyResult, list[_Point], Person | None]],
) -> list[Objective]:
    objectives: dict[str, Objective] = {}
    for spec in specs:
        owner = people[spec.owner]
        objective = _upsert(
            Objective,
            {"key": spec.key},
            {
                "cycle": cycle,
                "team": teams[spec.team],
                "owner": owner,
                "title": spec.title,
                "description": spec.description,
                "type": spec.type,
                "visibility": Visibility.PRIVATE if spec.private else Visibility.PUBLIC,
                "parent": objectives[spec.parent] if spec.parent else None,
            },
        )
        objectives[spec.key] = objective
        grades: list[tuple[float, float]] = []
        for position, kr in enumerate(spec.krs):
            kr_owner = people[kr.owner] if kr.owner else owner
            points: list[_Point] = []
            current: float | None = None
            done = False
            kpi: Kpi | None = None
            if kr.kpi is not None:
                kpi, series = kpis[kr.kpi]
                current = _kpi_value_on(series, cycle.end) if closed else kpi.latest_value
            elif kr.kind != ROLLUP and not (kr.kind in (INC, DEC) and kr.start is None):
                # Rolled-up key results, and ones with nothing to measure, get no check-ins.
                points = _checkins(spec.key, kr, cycle.start, cycle.end, closed, now)
                if points:
                    current, done = points[-1].value, bool(points[-1].done)
            grade: float | None = None
            if closed:
                grade = _kr_grade(kr, current, done)
                grades.append((grade, kr.weight))
            row = _upsert(
                KeyResult,
                {"objective": objective, "key": kr.key},
                {
                    "title": kr.title,
                    "kind": kr.kind,
                    "owner": kr_owner,
                    "unit": kr.unit,
                    "start": kr.start,
                    "target": kr.target,
                    "weight": kr.weight,
                    "due": cycle.end + timedelta(days=kr.due_days)
                    if kr.due_days is not None
                    else None,
                    "position": position,
                    "kpi": kpi,
                    "current": current,
                    "done": done,
                    "grade": grade,
                },
            )
            row.counter_kpis.set([kpis[key][0] for key in kr.counters])
            checkins.append((row, points, kr_owner))
        grade_value = sum(g * w for g, w in grades) / sum(w for _, w in grades) if closed else None
        _upsert(
            Objective,
            {"pk": objective.pk},
            {"grade": grade_value, "reflection": spec.reflection},
        )
    return list(objectives.values())


def _kr_grade(kr: _KR, current: float | None, done: bool) -> float:
    if kr.kind in (INC, DEC):
        return _score(kr, current) if current is not None else 0.0
    if kr.kind in (ABOVE, BELOW):
        if current is None or kr.target is None:
            return 0.0
        ok = current >= kr.target if kr.kind == ABOVE else current <= kr.target
        return 1.0 if ok else 0.0
    return 1.0 if done else 0.0


def _sync_checkins(
    plan: list[tuple[KeyResult, list[_Point], Person | None]], windows: dict[int, tuple[date, date]]
) -> None:
    """Create missing check-ins, correct changed ones, drop ones outside their cycle."""
    rows = CheckIn.objects.filter(key_result__in=[kr for kr, _, _ in plan])
    existing = {(c.key_result_id, c.at): c for c in rows}
    stale = [
        c.pk
        for c in existing.values()
        if not windows[c.key_result_id][0] <= c.at.date() <= windows[c.key_result_id][1]
    ]
    create: list[CheckIn] = []
    update: list[CheckIn] = []
    for kr, points, author in plan:
        for p in points:
            row = existing.get((kr.pk, p.at))
            fields = (p.value, p.done, p.confidence, p.comment, author.pk if author else None)
            if row is None:
                create.append(
                    CheckIn(
                        key_result=kr,
                        at=p.at,
                        value=p.value,
                        done=p.done,
                        confidence=p.confidence,
                        comment=p.comment,
                        author=author,
                    )
                )
            elif (row.value, row.done, row.confidence, row.comment, row.author_id) != fields:
                row.value, row.done, row.confidence, row.comment = fields[:4]
                row.author = author
                update.append(row)
    CheckIn.objects.filter(pk__in=stale).delete()
    CheckIn.objects.bulk_create(create, batch_size=500, ignore_conflicts=True)
    CheckIn.objects.bulk_update(
        update, ["value", "done", "confidence", "comment", "author"], batch_size=500
    )


# --------------------------------------------------------------------------- entry point


def load_demo(*, today: date | None = None) -> DemoSummary:
    """Load (or refresh) the Larkspur Health demo organisation, dated around ``today``.

    ``today`` defaults to the current UTC date. Check-ins and measurements go up to "now":
    the real clock when ``today`` is the real date, else 18:00 UTC on ``today``. KPI health
    and trend are evaluated by ``kpis.actions.refresh_kpis`` at that moment. One transaction.
    """
    real_now = datetime.now(UTC)
    today = today or real_now.date()
    now = real_now if real_now.date() == today else datetime.combine(today, time(18), UTC)
    cur_start, cur_end = _quarter(today)
    prev_start, prev_end = _quarter(cur_start - timedelta(days=1))

    with transaction.atomic():
        people = _load_people()
        closer = people[DEMO_ADMIN_EMAIL]
        teams = _load_teams(people)
        closed_on = min(cur_start + timedelta(days=2), today)
        previous = _upsert(
            Cycle,
            {"key": _quarter_key(prev_start)},
            {
                "name": f"Q{(prev_start.month - 1) // 3 + 1} {prev_start.year}",
                "start": prev_start,
                "end": prev_end,
                "state": CycleState.CLOSED,
                "closed_at": datetime.combine(closed_on, time(0), UTC),
                "closed_by": closer,
            },
        )
        current = _upsert(
            Cycle,
            {"key": _quarter_key(cur_start)},
            {
                "name": f"Q{(cur_start.month - 1) // 3 + 1} {cur_start.year}",
                "start": cur_start,
                "end": cur_end,
                "state": CycleState.ACTIVE,
                "closed_at": None,
                "closed_by": None,
            },
        )
        earlier: list[tuple[int, Cycle]] = []
        start = prev_start
        for back in range(2, 2 + EARLIER_QUARTERS):
            next_start = start
            start, end = _quarter(start - timedelta(days=1))
            earlier.append(
                (
                    back,
                    _upsert(
                        Cycle,
                        {"key": _quarter_key(start)},
                        {
                            "name": f"Q{(start.month - 1) // 3 + 1} {start.year}",
                            "start": start,
                            "end": end,
                            "state": CycleState.CLOSED,
                            "closed_at": datetime.combine(
                                next_start + timedelta(days=2), time(0), UTC
                            ),
                            "closed_by": closer,
                        },
                    ),
                )
            )
        kpis = _load_kpis(people, teams, today, now, cur_start, prev_start)
        plan: list[tuple[KeyResult, list[_Point], Person | None]] = []
        objectives: list[Objective] = []
        for back, cycle in reversed(earlier):
            objectives += _load_objectives(
                _earlier(PREVIOUS, back), cycle, True, people, teams, kpis, now, plan
            )
        objectives += _load_objectives(
            PREVIOUS, previous, True, people, teams, kpis, now, plan
        ) + _load_objectives(CURRENT, current, False, people, teams, kpis, now, plan)
        cycles = {c.pk: c for c in (previous, current, *(c for _, c in earlier))}
        windows = {
            kr.pk: (cycles[kr.objective.cycle_id].start, cycles[kr.objective.cycle_id].end)
            for kr, _, _ in plan
        }
        _sync_checkins(plan, windows)
        # A rerun in a later quarter leaves the demo's older quarters empty: remove them.
        Cycle.objects.filter(
            key__regex=r"^\d{4}-Q[1-4]$", end__lt=start, objectives__isnull=True
        ).delete()
        # The check-ins were written in bulk: store the scores they give in one pass.
        rescore_all()
        # Data sources (issue 15): three KPIs fetch from the demo's SQLite warehouse.
        from headway.sources.demo import load_demo_sources

        load_demo_sources()

    key_results = [kr for kr, _, _ in plan]
    return DemoSummary(
        teams=len(teams),
        people=len(people),
        cycles=2 + EARLIER_QUARTERS,
        objectives=len(objectives),
        key_results=len(key_results),
        checkins=CheckIn.objects.filter(key_result__in=key_results).count(),
        kpis=len(kpis),
        measurements=Measurement.objects.filter(kpi__key__in=[s.key for s in KPIS]).count(),
    )
