"""The large demo: a generated organisation for benchmarks and load tests.

``load_large_demo(seed=...)`` writes Meridian Labs, a made-up software and logistics company,
into the database (``headway demo --size large``):

- **teams**: 1,000 — the company, 10 departments, 100 groups and 889 teams below them, a
  tenth of those nested one or two levels deeper (any depth, as in real organisations);
- **people**: 10,000 with realistic names, 10 per team (a lead, eight members, a viewer),
  the CEO ``admin`` of the company; everyone's password is ``headway-demo``;
- **cycle**: the calendar quarter containing today, active (reused when it exists with the
  same dates, e.g. from the small demo);
- **objectives**: 5,000 (5 per team), aligned team → group → department → company; 20,000
  key results (4 per objective on average, every kind), about one per team fed by the
  team's KPI, some with counter-KPIs; weekly check-ins (Mondays, office hours) up to now
  on the key results that take them;
- **KPIs**: 1,000 (one per team) with three years of daily measurements (1,096 per KPI,
  about 1.1 million rows), thresholds placed so that most are healthy, some warning, a few
  critical; then their stored health and trend are computed (``refresh_kpis``).

Everything follows from the seed (and today's date): the same seed on the same day gives
the same organisation, so its export is the same text. ``scale`` shrinks every count in
proportion (tests run a hundredth of it through the same code).

The module imports no Django at load time (the CLI reads :class:`DemoSize` before Django is
set up). Running it twice refuses (:class:`LargeDemoExists`): the data is meant for a fresh
database, and regenerating 1.1 M measurements to compare them would take as long as
writing them. Measurements are written with PostgreSQL's COPY or SQLite's executemany;
the rest in bulk inserts, with history rows for teams, objectives, key results and KPIs.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from headway.demo import DemoSummary

__all__ = [
    "COMPANY_KEY",
    "DOMAIN",
    "DemoSize",
    "LargeDemoExists",
    "Sizes",
    "load_large_demo",
    "plan_sizes",
    "run_large_demo",
]

COMPANY_KEY = "meridian"
COMPANY_NAME = "Meridian Labs"
DOMAIN = "meridian.test"
CHANGE_REASON = "large demo"
DAYS = 3 * 365 + 1  # three years of daily measurements, today included
BATCH = 5000
#: The company's own metrics and KPI come from this department's list (Operations).
COMPANY_DEPARTMENT = 5

Progress = Callable[[str, int, int], None]


class DemoSize(StrEnum):
    """``headway demo --size``: the hand-written demo or the generated large one."""

    small = "small"
    large = "large"


class LargeDemoExists(ValueError):
    """The large demo (or rows with its keys) is already in the database."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """How many of each: full size at scale 1 (1,000 teams)."""

    teams: int
    departments: int
    groups: int
    people: int
    objectives: int
    key_results: int
    kpis: int
    days: int


def plan_sizes(scale: float = 1.0) -> Sizes:
    """The counts for ``scale`` (1.0: 1,000 teams, 10,000 people, ... ; at least 10 teams)."""
    teams = max(10, round(1000 * scale))
    departments = max(2, round(teams / 100))
    groups = max(departments, round(teams / 10))
    objectives = 5 * teams
    return Sizes(
        teams=teams,
        departments=departments,
        groups=groups,
        people=10 * teams,
        objectives=objectives,
        key_results=4 * objectives,
        kpis=teams,
        days=DAYS,
    )


# --------------------------------------------------------------------------- vocabulary


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words("""
Aaliyah Aarav Abena Adaeze Adam Adrián Ahmed Aiko Aisha Alejandro Aleksander Alice Amara
Amelia Amir Ana Anders Andrea Aniket Anja Anna Antoine Arjun Astrid Ayesha Beatriz Ben
Bianca Björn Camila Carlos Carmen Chiara Chidi Chloé Chen Claire Cristina Daniel Dario
David Deepa Diego Dmitri Elena Elif Elijah Emeka Emma Erik Esther Fatima Felix Femi Fiona
Francesca Freya Gabriel Giulia Hana Hannah Hamza Hiroshi Ibrahim Ines Ingrid Isabel Ivan
Jakub Jamal James Jana Javier Jin Joana Jonas Jorge Julia Kai Kamala Karim Kasia Kenji
Khadija Kofi Lars Laura Layla Leila Leo Liam Lina Lucas Lucía Luis Maya Mai Malik Marco
Maria Mariam Marta Mateo Matteo Mei Mohammed Nadia Naledi Nia Niamh Nikhil Nina Noah
Nora Oliver Olivia Omar Oscar Paolo Patrick Paula Pedro Priya Rafael Rahul Ravi Rosa
Ruth Sadia Samir Sandra Santiago Sara Sebastian Selin Sofia Sophie Stefan Sunita Tanvir
Teodora Thomas Tomás Uma Valentina Vikram Wei Yara Yasmin Yusuf Zainab Zara Zoe
""")

LAST_NAMES = _words("""
Abara Adeyemi Agarwal Ahmed Akhtar Almeida Andersen Bauer Becker Bianchi Brown Castillo
Chen Costa Cruz Dahl Das Dubois Eriksson Evans Fernández Ferrari Fischer Fontaine Garcia
Gómez Gonzalez Gupta Haddad Hansen Hassan Hoffmann Horvat Hughes Ibrahim Ito Jansen
Jensen Johansson Jones Kaur Khan Kim Kowalski Kumar Larsen Laurent Lee Lindqvist Lopez
Mahlangu Martin Martinez Mehta Meyer Moreau Morales Müller Murphy Nakamura Nguyen Nielsen
Novak Nowak Okafor Okonkwo Olsen Ortiz Osei Park Patel Pereira Petrov Popescu Quinn Ramos
Reddy Reyes Richter Rossi Ruiz Sato Schmidt Schneider Silva Singh Smith Sokolov Suzuki
Takahashi Tanaka Taylor Torres Tran Visser Vasquez Wagner Walker Wang Weber Williams
Wilson Wong Yamamoto Yilmaz Yusuf Zhang Zhou
""")

# Department → (short code, audience, groups, KPI source)
DEPARTMENTS: list[tuple[str, str, str, list[str], str]] = [
    ("Engineering", "eng", "product teams",
     ["Platform", "Payments", "Mobile", "Web", "Infrastructure", "Security", "Search",
      "Integrations", "Developer Experience", "Reliability", "Identity", "Messaging"],
     "datadog"),
    ("Product", "prod", "users",
     ["Discovery", "Design", "Research", "Growth Product", "Checkout Product",
      "Merchant Tools", "Analytics Product", "Onboarding", "Pricing", "Localisation",
      "Accessibility", "Content"],
     "amplitude"),
    ("Sales", "sales", "prospects",
     ["Enterprise Sales", "Mid-Market Sales", "Inside Sales", "Partnerships", "Sales Engineering",
      "Sales Operations", "EMEA Sales", "Americas Sales", "APAC Sales", "Renewals",
      "Channel Sales", "Public Sector"],
     "salesforce"),
    ("Marketing", "mkt", "buyers",
     ["Brand", "Demand Generation", "Content Marketing", "Product Marketing", "Events",
      "Lifecycle Marketing", "SEO", "Paid Media", "Community", "Marketing Operations",
      "Communications", "Field Marketing"],
     "hubspot"),
    ("Customer Success", "cs", "customers",
     ["Support", "Onboarding Services", "Account Management", "Customer Education",
      "Technical Support", "Customer Advocacy", "Success Operations", "Premium Support",
      "Implementation", "Escalations", "Self-Service", "Community Support"],
     "zendesk"),
    ("Operations", "ops", "customers",
     ["Fulfilment", "Logistics", "Procurement", "Warehousing", "Fleet", "Returns",
      "Supply Planning", "Quality Assurance", "Facilities", "Vendor Management",
      "Last Mile", "Inventory"],
     "wms-export"),
    ("Finance", "fin", "budget holders",
     ["Accounting", "Financial Planning", "Treasury", "Tax", "Billing", "Payroll",
      "Procurement Finance", "Revenue Operations", "Audit", "Investor Relations",
      "Controlling", "Accounts Payable"],
     "netsuite"),
    ("People", "people", "employees",
     ["Recruiting", "People Operations", "Learning", "Total Rewards", "Workplace",
      "Diversity & Inclusion", "Talent Management", "Employer Brand", "People Analytics",
      "Internal Communications", "Wellbeing", "HR Systems"],
     "workday"),
    ("Data & Analytics", "data", "decision makers",
     ["Data Engineering", "Business Intelligence", "Data Science", "Machine Learning",
      "Data Governance", "Experimentation", "Forecasting", "Data Platform", "Insights",
      "Marketing Analytics", "Product Analytics", "Data Quality"],
     "warehouse"),
    ("Legal & Compliance", "legal", "the business",
     ["Commercial Legal", "Privacy", "Compliance", "Corporate Legal", "Risk",
      "Employment Law", "Intellectual Property", "Regulatory Affairs", "Contracts",
      "Trust & Safety", "Internal Audit", "Policy"],
     "grc-tool"),
]  # fmt: skip

TEAM_QUALIFIERS = _words("""
Core API Experience Tooling Automation Insights Foundations Enablement Quality Growth
Operations Strategy North South East West Central EMEA Americas APAC Nordics DACH Iberia
Benelux UK Enterprise SMB Self-Serve Mobile Web Backend Frontend Partners Labs Squad
""")

# (slug, objective title) — {team} is the team's name, {audience} its department's audience.
OBJECTIVES: list[tuple[str, str]] = [
    ("trusted", "{audience} trust {team} with the work that matters most to them"),
    ("effortless", "Working with {team} feels effortless for {audience}"),
    ("predictable", "{team} delivers what it promises, when it promises it"),
    ("calm", "{team} runs calmly, without heroics or late nights"),
    ("fast-feedback", "{team} hears from {audience} within days, not months"),
    ("quality-first", "{team} catches quality problems before {audience} notice them"),
    ("clear-priorities", "Everyone in {team} knows what matters most this quarter and why"),
    ("self-serve", "{audience} get what they need from {team} without waiting on a person"),
    ("spend-wisely", "{team} spends its budget where it moves the needle"),
    ("growing-people", "{team} is a place where people grow and want to stay"),
    ("trusted-data", "{team} decides with numbers it trusts"),
    ("simple-processes", "The way {team} works fits on one page"),
    ("safe-by-default", "{audience} can rely on {team} to keep their data safe by default"),
    ("fast-onboarding", "New people in {team} do their best work from the second week"),
    ("recommended", "{audience} recommend {team} to their colleagues"),
    ("less-toil", "{team} spends its time on judgement, not on repetitive chores"),
    ("shared-knowledge", "What {team} knows lives in shared notes, not in one person's head"),
    ("reliable-handoffs", "Work handed over to {team} never falls between two chairs"),
]
COMPANY_OBJECTIVES: list[tuple[str, str]] = [
    (
        "first-choice",
        "Become the first choice of mid-size retailers for getting goods to customers",
    ),
    ("profitable-growth", "Grow in a way that pays for itself"),
    ("great-place", "Make Meridian a place where great people do the best work of their careers"),
    ("customer-love", "Customers tell their peers that Meridian never lets them down"),
    ("one-company", "Work as one company, not as a federation of departments"),
    ("sustainable", "Deliver every parcel with less carbon than last year"),
]
DESCRIPTIONS = [
    "We heard this in most of last quarter's customer interviews.",
    "Last quarter's review showed this is where we lose the most time.",
    "This is the theme leadership asked every team to weigh in on.",
    "Two incidents last quarter traced back to this.",
    "The survey put this in the bottom three for the second time running.",
]

# (slug, name, unit, low, high, direction, decimals) per department code
METRICS: dict[str, list[tuple[str, str, str, float, float, str, int]]] = {
    "eng": [
        ("p95-latency", "p95 API latency", "ms", 120, 600, "down", 0),
        ("deploys", "deploys per week", "", 3, 40, "up", 0),
        ("change-failure-rate", "change failure rate", "%", 2, 25, "down", 1),
        ("restore-time", "mean time to restore", "min", 15, 240, "down", 0),
        ("test-coverage", "test coverage of critical paths", "%", 40, 95, "up", 1),
        ("availability", "monthly availability", "%", 99.0, 99.99, "up", 2),
        ("build-time", "CI build time", "min", 5, 40, "down", 1),
        ("incidents", "customer-facing incidents per month", "", 1, 12, "down", 0),
    ],
    "prod": [
        ("weekly-active", "weekly active users", "k", 20, 400, "up", 1),
        ("activation", "activation rate", "%", 20, 70, "up", 1),
        ("adoption", "feature adoption", "%", 5, 60, "up", 1),
        ("task-success", "task success rate", "%", 60, 98, "up", 1),
        ("week4-retention", "week-4 retention", "%", 20, 60, "up", 1),
        ("time-to-value", "time to first value", "min", 5, 90, "down", 0),
    ],
    "sales": [
        ("win-rate", "win rate", "%", 12, 40, "up", 1),
        ("pipeline-coverage", "pipeline coverage", "x", 1.5, 5, "up", 2),
        ("deal-size", "average deal size", "kEUR", 8, 120, "up", 1),
        ("sales-cycle", "sales cycle length", "days", 20, 140, "down", 0),
        ("quota-attainment", "quota attainment", "%", 50, 120, "up", 1),
        ("new-logos", "new logos per month", "", 3, 60, "up", 0),
    ],
    "mkt": [
        ("mql-to-sql", "MQL to SQL conversion", "%", 5, 35, "up", 1),
        ("cost-per-lead", "cost per lead", "EUR", 20, 300, "down", 0),
        ("site-conversion", "website conversion", "%", 0.5, 6, "up", 2),
        ("organic-visits", "organic visits per week", "k", 5, 200, "up", 1),
        ("campaign-roi", "campaign return on spend", "%", 80, 400, "up", 0),
        ("brand-search", "branded search volume", "k", 2, 80, "up", 1),
    ],
    "cs": [
        ("nps", "net promoter score", "", 5, 60, "up", 0),
        ("csat", "customer satisfaction", "%", 70, 98, "up", 1),
        ("first-response", "first response time", "h", 0.5, 24, "down", 1),
        ("churn", "monthly logo churn", "%", 0.5, 4, "down", 2),
        ("nrr", "net revenue retention", "%", 90, 130, "up", 1),
        ("resolution-time", "time to resolution", "h", 4, 72, "down", 1),
    ],
    "ops": [
        ("on-time", "on-time delivery", "%", 82, 99, "up", 1),
        ("order-accuracy", "order accuracy", "%", 95, 99.9, "up", 2),
        ("cost-per-order", "cost per order", "EUR", 2, 12, "down", 2),
        ("inventory-turns", "inventory turns", "x", 4, 20, "up", 1),
        ("lead-time", "fulfilment lead time", "h", 6, 72, "down", 1),
        ("utilisation", "warehouse utilisation", "%", 55, 95, "up", 1),
    ],
    "fin": [
        ("dso", "days sales outstanding", "days", 25, 75, "down", 0),
        ("forecast-accuracy", "forecast accuracy", "%", 80, 99, "up", 1),
        ("close-time", "month-end close time", "days", 3, 15, "down", 0),
        ("budget-variance", "budget variance", "%", 1, 15, "down", 1),
        ("invoice-errors", "invoice error rate", "%", 0.2, 5, "down", 2),
    ],
    "people": [
        ("enps", "employee net promoter score", "", -10, 50, "up", 0),
        ("time-to-hire", "time to hire", "days", 20, 80, "down", 0),
        ("regretted-attrition", "regretted attrition", "%", 2, 15, "down", 1),
        ("offer-acceptance", "offer acceptance rate", "%", 60, 95, "up", 1),
        ("learning-hours", "learning hours per person", "h", 2, 30, "up", 1),
    ],
    "data": [
        ("freshness", "dashboard data freshness", "h", 1, 30, "down", 1),
        ("data-quality", "data quality score", "%", 80, 99.5, "up", 1),
        ("query-time", "p95 query time", "s", 1, 60, "down", 1),
        ("self-serve-share", "self-serve analysis share", "%", 20, 80, "up", 1),
        ("model-accuracy", "forecast model accuracy", "%", 70, 97, "up", 1),
    ],
    "legal": [
        ("contract-turnaround", "contract turnaround", "days", 2, 20, "down", 1),
        ("policy-acknowledged", "policy acknowledgement", "%", 70, 100, "up", 1),
        ("open-findings", "open audit findings", "", 2, 40, "down", 0),
        ("dsar-time", "data request response time", "days", 3, 30, "down", 0),
    ],
}
MILESTONES = [
    "The new runbook is used in every on-call shift",
    "The {team} playbook is published and adopted",
    "Every vendor contract sits in the new repository",
    "The quarterly review runs on live data, not slides",
    "The old tooling is switched off for good",
    "The first customer goes live on the new process",
    "Every team member has a written growth plan",
    "The pilot ends with a go or no-go decision",
]
CHECKIN_NOTES = [
    "",
    "",
    "",
    "On plan; nothing new this week.",
    "Two customers moved to the new flow this week.",
    "Blocked on a vendor contract; escalated to the lead.",
    "The experiment finished: a small but clear gain.",
    "Holiday week, less progress than hoped.",
    "Fixed the measurement: last week's number was overstated.",
    "New hire started; ramping up on the backlog.",
    "Rolled out to the second region.",
    "Waiting on the data team for the new dashboard.",
    "Good week: the fix landed earlier than planned.",
    "Slower than expected; we cut scope to stay on track.",
    "Pilot feedback is positive; planning the wider rollout.",
    "Dependency on Platform resolved.",
]
MEASUREMENT_NOTES = [
    "Outage in the data pipeline; value estimated.",
    "Public holiday.",
    "Method changed: now excludes test accounts.",
    "Migration weekend.",
]
KR_KIND_WEIGHTS = [
    ("increase", 50),
    ("decrease", 20),
    ("above", 8),
    ("below", 7),
    ("milestone", 10),
    ("objectives", 5),
]


# --------------------------------------------------------------------------- generation

_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(text: str) -> str:
    ascii_text = text.lower().replace("&", "and")
    for a, b in zip("áéíóúüöäøåñç", "aeiouuoaoanc", strict=True):
        ascii_text = ascii_text.replace(a, b)
    return _SLUG.sub("-", ascii_text).strip("-")


def _quarter(day: date) -> tuple[date, date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    nxt = date(day.year + 1, 1, 1) if first_month == 10 else date(day.year, first_month + 3, 1)
    return start, nxt - timedelta(days=1)


def _round(value: float, decimals: int) -> float:
    return float(round(value, decimals)) if decimals > 0 else float(round(value))


def _fmt(value: float, decimals: int) -> str:
    return f"{value:,.{max(decimals, 0)}f}"


@dataclass(slots=True)
class _Team:
    key: str
    name: str
    kind: str
    parent: int | None  # index into the team list
    dept: int  # index into DEPARTMENTS (-1: the company)
    depth: int
    cadence: int = 7
    members: list[int] = field(default_factory=list)  # person indexes; [0] is the lead


@dataclass(slots=True)
class _Person:
    email: str
    name: str


@dataclass(slots=True)
class _KR:
    key: str
    title: str
    kind: str
    owner: int
    unit: str = ""
    start: float | None = None
    target: float | None = None
    weight: float = 1.0
    kpi: int | None = None
    counters: tuple[int, ...] = ()
    decimals: int = 1
    pace: float = 1.0


@dataclass(slots=True)
class _Objective:
    key: str
    team: int
    owner: int
    title: str
    type: str
    visibility: str
    parent: int | None
    description: str
    krs: list[_KR] = field(default_factory=list)


@dataclass(slots=True)
class _Kpi:
    key: str
    name: str
    team: int
    owner: int
    unit: str
    direction: str
    decimals: int
    cadence: str
    tier: str
    source: str
    why: str
    how: str
    definition: str
    series: list[float] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)
    target: float = 0.0
    warning: float = 0.0
    critical: float = 0.0
    benchmark: float | None = None


class _Plan:
    """The whole organisation in memory, drawn from one seeded generator."""

    def __init__(self, seed: int, sizes: Sizes, today: date, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.sizes = sizes
        self.today = today
        self.now = now
        self.cycle_start, self.cycle_end = _quarter(today)
        self.teams: list[_Team] = []
        self.people: list[_Person] = []
        self.objectives: list[_Objective] = []
        self.kpis: list[_Kpi] = []
        self.make_teams()
        self.make_people()
        self.make_kpis()
        self.make_objectives()

    # ---- teams

    def make_teams(self) -> None:
        rng, s = self.rng, self.sizes
        self.teams.append(_Team(COMPANY_KEY, COMPANY_NAME, "company", None, -1, 0))
        depts = list(range(len(DEPARTMENTS)))
        for d in range(s.departments):
            name, code, *_ = DEPARTMENTS[depts[d % len(depts)]]
            suffix = f" {d // len(depts) + 1}" if d >= len(depts) else ""
            key = f"mer-{_slug(name)}" + (f"-{d // len(depts) + 1}" if suffix else "")
            self.teams.append(_Team(key, name + suffix, "department", 0, d % len(depts), 1))
        dept_teams = list(range(1, 1 + s.departments))
        used: set[str] = {t.key for t in self.teams}
        group_teams: list[int] = []
        for g in range(s.groups):
            parent = dept_teams[g % len(dept_teams)]
            dept = self.teams[parent].dept
            names = DEPARTMENTS[dept][3]
            n = g // len(dept_teams)
            name = names[n % len(names)] + (f" {n // len(names) + 1}" if n >= len(names) else "")
            key = self.unique(f"{DEPARTMENTS[dept][1]}-{_slug(name)}", used)
            group_teams.append(len(self.teams))
            self.teams.append(_Team(key, name, "department", parent, dept, 2))
        leaves = s.teams - len(self.teams)
        leaf_teams: list[int] = []
        leaf_names: set[str] = set()
        for i in range(leaves):
            # Most teams sit under a group; some under another team (squads), any depth.
            if leaf_teams and rng.random() < 0.1:
                parent = rng.choice(leaf_teams)
            else:
                parent = group_teams[i % len(group_teams)]
            base = self.teams[parent]
            name = self.unique_name(base.name, leaf_names)
            leaf_names.add(name)
            code = DEPARTMENTS[base.dept][1]
            key = self.unique(f"{code}-{_slug(name)}"[:90].rstrip("-"), used)
            leaf_teams.append(len(self.teams))
            cadence = 14 if rng.random() < 0.15 else 7
            self.teams.append(_Team(key, name, "team", parent, base.dept, base.depth + 1, cadence))

    def unique_name(self, base: str, taken: set[str]) -> str:
        options = list(TEAM_QUALIFIERS)
        self.rng.shuffle(options)
        for word in options:
            if f"{base} {word}" not in taken:
                return f"{base} {word}"
        n = 2
        while f"{base} {n}" in taken:
            n += 1
        return f"{base} {n}"

    @staticmethod
    def unique(key: str, used: set[str]) -> str:
        candidate, n = key, 2
        while candidate in used:
            candidate, n = f"{key}-{n}", n + 1
        used.add(candidate)
        return candidate

    # ---- people

    def make_people(self) -> None:
        rng = self.rng
        used: set[str] = set()
        for team in self.teams:
            for _ in range(self.sizes.people // self.sizes.teams):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                local = f"{_slug(first)}.{_slug(last)}".replace("-", "")
                candidate, n = local, 2
                while candidate in used:
                    candidate, n = f"{local}{n}", n + 1
                used.add(candidate)
                team.members.append(len(self.people))
                self.people.append(_Person(f"{candidate}@{DOMAIN}", f"{first} {last}"))

    # ---- KPIs and their series

    def make_kpis(self) -> None:
        rng, days = self.rng, self.sizes.days
        for t, team in enumerate(self.teams):
            dept = team.dept if team.dept >= 0 else COMPANY_DEPARTMENT
            dept_name, code, audience, _groups, source = DEPARTMENTS[dept]
            slug, metric, unit, low, high, direction, decimals = rng.choice(METRICS[code])
            name = f"{metric[0].upper()}{metric[1:]} ({team.name})"
            kpi = _Kpi(
                key=f"{team.key}-{slug}"[:150],
                name=name[:200],
                team=t,
                owner=team.members[0],
                unit=unit,
                direction=direction,
                decimals=decimals,
                cadence=rng.choices(["weekly", "monthly", "quarterly"], [6, 3, 1])[0],
                tier="key" if rng.random() < 0.7 else "diagnostic",
                source=source,
                why=f"Tells {team.name} whether {audience} feel the difference.",
                how=f"{dept_name} practices owned by {team.name}",
                definition=f"The {metric} as reported by {source}, daily.",
            )
            self.series(kpi, low, high, days)
            self.kpis.append(kpi)

    def series(self, kpi: _Kpi, low: float, high: float, days: int) -> None:
        rng = self.rng
        span = high - low
        level = low + span * rng.uniform(0.25, 0.75)
        drift = span * rng.uniform(-0.25, 0.25) / days  # per day
        weekly = span * rng.uniform(0.0, 0.04)
        noise = span * rng.uniform(0.01, 0.04)
        walk = 0.0
        values: list[float] = []
        percent = kpi.unit == "%"
        for d in range(days):
            walk = 0.98 * walk + rng.gauss(0.0, noise * 0.3)
            value = level + drift * d + walk + weekly * math.sin(2 * math.pi * d / 7)
            value += rng.gauss(0.0, noise)
            if rng.random() < 0.002:
                value += rng.choice((-1, 1)) * 4 * noise  # the odd anomaly
            if percent:
                value = min(100.0, max(0.0, value))
            values.append(_round(value, kpi.decimals))
            if rng.random() < 0.001:
                kpi.notes[d] = rng.choice(MEASUREMENT_NOTES)
        kpi.series = values
        last = sum(values[-7:]) / len(values[-7:])
        band = max(abs(last) * 0.04, noise * 2, 10.0 ** -max(kpi.decimals, 0))
        health = rng.choices(["healthy", "warning", "critical"], [70, 20, 10])[0]
        # Distances (in bands) of warning and critical behind the latest level.
        offsets = {"healthy": (1.5, 3.0), "warning": (-0.5, 1.5), "critical": (-3.0, -1.0)}
        w, c = offsets[health]
        sign = -1.0 if kpi.direction == "up" else 1.0
        kpi.warning = _round(last + sign * w * band, kpi.decimals)
        kpi.critical = _round(last + sign * c * band, kpi.decimals)
        kpi.target = _round(last - sign * rng.uniform(0.5, 2.0) * band, kpi.decimals)
        if rng.random() < 0.4:
            kpi.benchmark = _round(last - sign * rng.uniform(-1, 1) * band, kpi.decimals)

    # ---- objectives and key results

    def make_objectives(self) -> None:
        rng = self.rng
        by_team: dict[int, list[int]] = {}
        kpi_of_team = {k.team: i for i, k in enumerate(self.kpis)}
        per_team = self.sizes.objectives // self.sizes.teams
        pattern: list[int] = []
        for t, team in enumerate(self.teams):
            dept = DEPARTMENTS[team.dept] if team.dept >= 0 else None
            audience = dept[2] if dept else "customers"
            themes = COMPANY_OBJECTIVES if team.dept < 0 else OBJECTIVES
            chosen = rng.sample(themes, min(per_team, len(themes)))
            by_team[t] = []
            linked = False
            for n in range(per_team):
                slug, template = chosen[n % len(chosen)]
                title = template.format(team=team.name, audience=audience)
                title = title[0].upper() + title[1:]
                parent = None
                if team.parent is not None and by_team.get(team.parent):
                    parent = rng.choice(by_team[team.parent])
                members = team.members
                objective = _Objective(
                    key=f"{team.key}-{slug}" + (f"-{n + 1}" if n >= len(chosen) else ""),
                    team=t,
                    owner=members[0] if rng.random() < 0.6 else rng.choice(members[:9]),
                    title=title[:300],
                    type="committed" if rng.random() < 0.3 else "aspirational",
                    visibility="private" if rng.random() < 0.05 else "public",
                    parent=parent,
                    description=rng.choice(DESCRIPTIONS) if rng.random() < 0.3 else "",
                )
                if not pattern:
                    pair = rng.choice([(3, 5), (4, 4), (4, 4), (5, 3), (2, 6)])
                    pattern = list(pair)
                count = pattern.pop(0)
                if len(self.objectives) == self.sizes.objectives - 1 and pattern:
                    count, pattern = 4, []  # an odd total: the last one keeps the mean at 4
                has_children = team.kind != "team" or any(
                    x.parent == t for x in self.teams[t + 1 : t + 40]
                )
                for k in range(count):
                    kpi = None
                    if not linked and t in kpi_of_team and rng.random() < 0.35:
                        kpi, linked = kpi_of_team[t], True
                    objective.krs.append(self.key_result(objective, k, kpi, has_children))
                by_team[t].append(len(self.objectives))
                self.objectives.append(objective)

    def key_result(
        self, objective: _Objective, index: int, kpi_index: int | None, has_children: bool
    ) -> _KR:
        rng = self.rng
        team = self.teams[objective.team]
        owner = rng.choice(team.members[:9])
        if kpi_index is not None:
            kpi = self.kpis[kpi_index]
            # The KPI's value the day the cycle started (the series ends today).
            start_value = kpi.series[len(kpi.series) - 1 - (self.today - self.cycle_start).days]
            kind = "increase" if kpi.direction == "up" else "decrease"
            verb = "Raise" if kind == "increase" else "Bring"
            counters: tuple[int, ...] = ()
            if rng.random() < 0.3:
                counters = (rng.randrange(len(self.kpis)),)
                if counters[0] == kpi_index:
                    counters = ()
            unit_text = f" {kpi.unit}" if kpi.unit and kpi.unit != "%" else kpi.unit
            metric = kpi.name.split(" (")[0].lower()
            if start_value == kpi.target:
                # Already at the target the day the cycle starts: nothing could move
                # (`kr-not-measurable`). Start one step short of it instead.
                step = 10.0 ** -max(kpi.decimals, 0)
                start_value = _round(
                    kpi.target - step if kind == "increase" else kpi.target + step, kpi.decimals
                )
            return _KR(
                key=f"{_slug(metric)}-{index + 1}"[:150],
                title=f"{verb} {metric} from {_fmt(start_value, kpi.decimals)} to "
                f"{_fmt(kpi.target, kpi.decimals)}{unit_text}",
                kind=kind,
                owner=kpi.owner,
                unit=kpi.unit,
                start=start_value,
                target=kpi.target,
                kpi=kpi_index,
                counters=counters,
                decimals=kpi.decimals,
            )
        kinds = [(k, w) for k, w in KR_KIND_WEIGHTS if k != "objectives" or has_children]
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        pace = rng.uniform(0.3, 1.3)
        weight = 2.0 if rng.random() < 0.1 else 1.0
        if kind == "objectives":
            return _KR(f"rollup-{index + 1}", "The objectives aligned to this one land", kind,
                       owner, weight=weight)  # fmt: skip
        if kind == "milestone":
            title = rng.choice(MILESTONES).format(team=team.name)
            return _KR(f"milestone-{index + 1}", title[:300], kind, owner, pace=pace)
        code = DEPARTMENTS[team.dept if team.dept >= 0 else COMPANY_DEPARTMENT][1]
        slug, metric, unit, low, high, direction, decimals = rng.choice(METRICS[code])
        # The kind follows the metric's good direction: raise what should go up.
        if kind in ("increase", "decrease"):
            kind = "increase" if direction == "up" else "decrease"
        else:
            kind = "above" if direction == "up" else "below"
        span = high - low
        unit_text = f" {unit}" if unit and unit != "%" else unit
        key = f"{slug}-{index + 1}"
        if kind in ("above", "below"):
            target = _round(low + span * rng.uniform(0.3, 0.7), decimals)
            where = "at or above" if kind == "above" else "at or below"
            title = f"Keep {metric} {where} {_fmt(target, decimals)}{unit_text}"
            return _KR(key, title, kind, owner, unit, None, target, weight, decimals=decimals,
                       pace=pace)  # fmt: skip
        start = _round(low + span * rng.uniform(0.2, 0.5), decimals)
        target = _round(start + span * rng.uniform(0.15, 0.4), decimals)
        if target == start:
            # A narrow range rounded to whole numbers: keep one step between start and
            # target, or nothing could move (`kr-not-measurable`).
            target = _round(start + 10.0 ** -max(decimals, 0), decimals)
        if kind == "decrease":
            start, target = target, start
        verb = "Raise" if kind == "increase" else "Cut"
        title = (
            f"{verb} {metric} from {_fmt(start, decimals)} to {_fmt(target, decimals)}{unit_text}"
        )
        return _KR(key, title, kind, owner, unit, start, target, weight, decimals=decimals,
                   pace=pace)  # fmt: skip

    # ---- check-ins

    def mondays(self) -> list[datetime]:
        first = self.cycle_start + timedelta(days=(7 - self.cycle_start.weekday()) % 7)
        moments = []
        day = first
        while day <= min(self.cycle_end, self.today):
            moments.append(datetime.combine(day, time(9), tzinfo=UTC))
            day += timedelta(days=7)
        return moments

    def checkins(self, kr: _KR, mondays: Sequence[datetime]) -> Iterator[tuple[Any, ...]]:
        """(at, value, done, confidence, comment) for each week the owner checked in."""
        if kr.kpi is not None or kr.kind == "objectives":
            return
        rng = self.rng
        total = (self.cycle_end - self.cycle_start).days + 1
        confidence = rng.randint(5, 8)
        done_week = rng.randrange(3, 14) if rng.random() < 0.5 else 99
        for week, monday in enumerate(mondays):
            if rng.random() < 0.1:
                continue  # a missed week
            at = monday + timedelta(minutes=rng.randrange(0, 8 * 60))
            if at > self.now:
                break
            confidence = max(0, min(10, confidence + rng.choice((-1, 0, 0, 1))))
            note = rng.choice(CHECKIN_NOTES)
            elapsed = ((at.date() - self.cycle_start).days + 1) / total
            if kr.kind == "milestone":
                yield at, None, week >= done_week, confidence, note
                continue
            assert kr.target is not None
            if kr.kind in ("above", "below"):
                wobble = abs(kr.target) * 0.05 + 10.0 ** -max(kr.decimals, 0)
                value = kr.target + rng.uniform(-1.0, 1.5 if kr.kind == "above" else 1.0) * wobble
                if kr.kind == "below":
                    value = kr.target - (value - kr.target)
            else:
                assert kr.start is not None
                progress = min(1.2, kr.pace * elapsed + rng.gauss(0, 0.03))
                value = kr.start + (kr.target - kr.start) * progress
            yield at, _round(value, kr.decimals), None, confidence, note


# --------------------------------------------------------------------------- writing


def _refuse_if_loaded(plan: _Plan) -> None:
    from headway.kpis.models import Kpi
    from headway.okrs.models import Objective
    from headway.teams.models import Person, Team

    if Team.objects.filter(key=COMPANY_KEY).exists():
        raise LargeDemoExists(
            f"the large demo is already loaded (team {COMPANY_KEY!r} exists): it is meant "
            "for a fresh database; load it into an empty one instead"
        )
    clashes: list[str] = []
    for model, attr, values in (
        (Team, "key", [t.key for t in plan.teams]),
        (Person, "email", [p.email for p in plan.people]),
        (Kpi, "key", [k.key for k in plan.kpis]),
        (Objective, "key", [o.key for o in plan.objectives]),
    ):
        manager: Any = model._default_manager
        for start in range(0, len(values), 500):
            found = manager.filter(**{f"{attr}__in": values[start : start + 500]})
            clashes.extend(found.values_list(attr, flat=True)[:3])
            if clashes:
                raise LargeDemoExists(
                    "the database already holds rows with the large demo's keys "
                    f"({', '.join(clashes)}): load it into an empty database"
                )


def _write_measurements(rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert (kpi_id, at, value, source, note, created_at, updated_at) rows fast."""
    from django.db import connection

    from headway.kpis.models import Measurement

    table = connection.ops.quote_name(Measurement._meta.db_table)
    names = ("kpi", "at", "value", "source", "note", "created_at", "updated_at")
    fields = {f.name: str(f.column) for f in Measurement._meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(fields[name]) for name in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw: Any = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(k, adapt(at), v, s, n, adapt(c), adapt(u)) for k, at, v, s, n, c, u in rows],
            )


def load_large_demo(
    *,
    seed: int,
    progress: Progress | None = None,
    scale: float = 1.0,
    today: date | None = None,
) -> DemoSummary:
    """Generate and write the large demo organisation in one transaction (see the module).

    Raises LargeDemoExists, writing nothing, when it (or any row with its keys) is already
    in the database. ``progress`` is called as (phase, done, total).
    """
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from simple_history.utils import bulk_create_with_history

    from headway.database import refresh_statistics
    from headway.demo import DEMO_PASSWORD, DemoSummary
    from headway.kpis.actions import refresh_kpis
    from headway.kpis.models import Kpi
    from headway.okrs.models import CheckIn, Cycle, KeyResult, Objective
    from headway.okrs.stored import rescore_all
    from headway.teams.models import Membership, Person, Team

    def tick(phase: str, done: int, total: int) -> None:
        if progress is not None:
            progress(phase, done, total)

    real_now = datetime.now(UTC)
    today = today or real_now.date()
    now = real_now if real_now.date() == today else datetime.combine(today, time(18), UTC)
    sizes = plan_sizes(scale)
    tick("planning", 0, 1)
    plan = _Plan(seed, sizes, today, now)
    tick("planning", 1, 1)

    with transaction.atomic():
        _refuse_if_loaded(plan)

        # ---- people and teams
        hashed = make_password(DEMO_PASSWORD)
        people = [Person(email=p.email, name=p.name, password=hashed) for p in plan.people]
        for start in range(0, len(people), BATCH):
            Person.objects.bulk_create(people[start : start + BATCH], batch_size=BATCH)
            tick("people", min(start + BATCH, len(people)), len(people))
        teams: list[Team | None] = [None] * len(plan.teams)
        for depth in range(max(t.depth for t in plan.teams) + 1):
            indexes = [i for i, t in enumerate(plan.teams) if t.depth == depth]
            objs = []
            for i in indexes:
                spec = plan.teams[i]
                objs.append(
                    Team(
                        key=spec.key,
                        name=spec.name,
                        kind=spec.kind,
                        parent=teams[spec.parent] if spec.parent is not None else None,
                        checkin_cadence_days=spec.cadence,
                    )
                )
            for i, obj in zip(
                indexes,
                bulk_create_with_history(
                    objs, Team, batch_size=BATCH, default_change_reason=CHANGE_REASON
                ),
                strict=True,
            ):
                teams[i] = obj
        team_rows = [t for t in teams if t is not None]
        memberships = []
        for t, spec in enumerate(plan.teams):
            for n, person in enumerate(spec.members):
                role = "lead" if n == 0 else "viewer" if n == len(spec.members) - 1 else "member"
                if t == 0 and n == 0:
                    role = "admin"
                memberships.append(Membership(person=people[person], team=team_rows[t], role=role))
        Membership.objects.bulk_create(memberships, batch_size=BATCH)
        tick("teams", len(team_rows), len(team_rows))

        # ---- the cycle
        key = f"{plan.cycle_start.year}-Q{(plan.cycle_start.month - 1) // 3 + 1}"
        cycle = Cycle.objects.filter(key=key).first()
        if cycle is None:
            cycle = Cycle(key=key, name=f"Q{key[-1]} {plan.cycle_start.year}",
                          start=plan.cycle_start, end=plan.cycle_end, state="active")  # fmt: skip
            cycle._change_reason = CHANGE_REASON  # type: ignore[attr-defined]
            cycle.save()
        elif (cycle.start, cycle.end) != (plan.cycle_start, plan.cycle_end):
            raise LargeDemoExists(
                f"cycle {key!r} exists with other dates ({cycle.start} to {cycle.end})"
            )

        # ---- KPIs
        kpis = bulk_create_with_history(
            [
                Kpi(
                    key=k.key,
                    name=k.name,
                    unit=k.unit,
                    definition=k.definition,
                    why=k.why,
                    how=k.how,
                    team=team_rows[k.team],
                    owner=people[k.owner],
                    direction=k.direction,
                    target=k.target,
                    warning=k.warning,
                    critical=k.critical,
                    benchmark=k.benchmark,
                    cadence=k.cadence,
                    tier=k.tier,
                )
                for k in plan.kpis
            ],
            Kpi,
            batch_size=BATCH,
            default_change_reason=CHANGE_REASON,
        )
        tick("KPIs", len(kpis), len(kpis))

        # ---- objectives, level by level (parents first)
        objectives: list[Objective | None] = [None] * len(plan.objectives)
        depth_of = [plan.teams[o.team].depth for o in plan.objectives]
        for depth in sorted(set(depth_of)):
            indexes = [i for i, d in enumerate(depth_of) if d == depth]
            new_objectives = []
            for i in indexes:
                o = plan.objectives[i]
                new_objectives.append(
                    Objective(
                        key=o.key,
                        cycle=cycle,
                        team=team_rows[o.team],
                        owner=people[o.owner],
                        title=o.title,
                        description=o.description,
                        type=o.type,
                        visibility=o.visibility,
                        parent=objectives[o.parent] if o.parent is not None else None,
                    )
                )
            created = bulk_create_with_history(
                new_objectives, Objective, batch_size=BATCH, default_change_reason=CHANGE_REASON
            )
            for i, obj in zip(indexes, created, strict=True):
                objectives[i] = obj
            tick("objectives", sum(o is not None for o in objectives), len(objectives))
        objective_rows = [o for o in objectives if o is not None]

        # ---- key results and their check-ins
        mondays = plan.mondays()
        kr_objs: list[KeyResult] = []
        kr_checkins: list[list[tuple[Any, ...]]] = []
        counter_pairs: list[tuple[int, int]] = []
        for o_index, o in enumerate(plan.objectives):
            for position, kr in enumerate(o.krs):
                rows = list(plan.checkins(kr, mondays))
                latest = rows[-1] if rows else None
                kr_objs.append(
                    KeyResult(
                        objective=objective_rows[o_index],
                        key=kr.key,
                        title=kr.title,
                        kind=kr.kind,
                        owner=people[kr.owner],
                        unit=kr.unit,
                        start=kr.start,
                        target=kr.target,
                        weight=kr.weight,
                        position=position,
                        kpi=kpis[kr.kpi] if kr.kpi is not None else None,
                        current=latest[1] if latest else None,
                        done=bool(latest[2]) if latest else False,
                    )
                )
                kr_checkins.append([(*row, people[kr.owner].pk) for row in rows])
                counter_pairs.extend((len(kr_objs) - 1, c) for c in kr.counters)
        created_krs: list[KeyResult] = []
        for start in range(0, len(kr_objs), BATCH):
            created_krs.extend(
                bulk_create_with_history(
                    kr_objs[start : start + BATCH],
                    KeyResult,
                    batch_size=BATCH,
                    default_change_reason=CHANGE_REASON,
                )
            )
            tick("key results", len(created_krs), len(kr_objs))
        through = KeyResult.counter_kpis.through
        through.objects.bulk_create(
            [through(keyresult_id=created_krs[k].pk, kpi_id=kpis[c].pk) for k, c in counter_pairs],
            batch_size=BATCH,
        )
        total_checkins = sum(len(rows) for rows in kr_checkins)
        written = 0
        pending: list[CheckIn] = []
        for kr_row, rows in zip(created_krs, kr_checkins, strict=True):
            for at, value, done, confidence, note, author in rows:
                pending.append(
                    CheckIn(
                        key_result_id=kr_row.pk,
                        at=at,
                        value=value,
                        done=done,
                        confidence=confidence,
                        comment=note,
                        author_id=author,
                    )
                )
            if len(pending) >= BATCH:
                CheckIn.objects.bulk_create(pending, batch_size=BATCH)
                written += len(pending)
                pending = []
                tick("check-ins", written, total_checkins)
        CheckIn.objects.bulk_create(pending, batch_size=BATCH)
        tick("check-ins", total_checkins, total_checkins)

        # ---- measurements: three years, daily
        first_day = today - timedelta(days=sizes.days - 1)
        moments = [
            datetime.combine(first_day + timedelta(days=d), time(), tzinfo=UTC)
            for d in range(sizes.days)
        ]
        total_measurements = len(plan.kpis) * sizes.days
        written = 0
        chunk: list[tuple[Any, ...]] = []
        for kpi_row, kpi_spec in zip(kpis, plan.kpis, strict=True):
            for d, value in enumerate(kpi_spec.series):
                note = kpi_spec.notes.get(d, "")
                chunk.append((kpi_row.pk, moments[d], value, kpi_spec.source, note, now, now))
            if len(chunk) >= 50 * BATCH:
                _write_measurements(chunk)
                written += len(chunk)
                chunk = []
                tick("measurements", written, total_measurements)
        _write_measurements(chunk)
        tick("measurements", total_measurements, total_measurements)

        # ---- stored KPI state, and the value of KPI-fed key results
        ids = [k.pk for k in kpis]
        for start in range(0, len(ids), 50):
            refresh_kpis(kpi_ids=ids[start : start + 50], at=now)
            tick("refreshing KPIs", min(start + 50, len(ids)), len(ids))

        # ---- stored scores of every objective and key result, from what was written
        tick("scoring", 0, 1)
        rescore_all()
        tick("scoring", 1, 1)
    refresh_statistics()

    return DemoSummary(
        teams=len(team_rows),
        people=len(people),
        cycles=1,
        objectives=len(objective_rows),
        key_results=len(created_krs),
        checkins=total_checkins,
        kpis=len(kpis),
        measurements=total_measurements,
    )


def run_large_demo(*, seed: int, console: Console) -> None:
    """`headway demo --size large`: load with a progress bar, or exit 2 saying why not."""
    import typer
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    tasks: dict[str, Any] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=max(total, 1))
        bar.update(tasks[phase], completed=done, total=max(total, 1))

    started = datetime.now(UTC)
    try:
        with bar:
            summary = load_large_demo(seed=seed, progress=progress)
    except LargeDemoExists as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    seconds = (datetime.now(UTC) - started).total_seconds()
    console.print(f"Large demo (seed {seed}) loaded in {seconds:.0f} s: {summary}")
    from headway.demo import DEMO_PASSWORD

    console.print(f"Sign in as anyone @{DOMAIN} with password [bold]{DEMO_PASSWORD}[/]")
