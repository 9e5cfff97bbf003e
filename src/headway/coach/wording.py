"""Wording analysis behind the coach's text rules.

Pure standard-library code: no Django, no third-party NLP. A title is tokenised, its
numbers are classified (a measure, a date, an identifier such as "ISO 9001", an ordinal),
the shapes that carry a target are detected ("from X to Y", "by N%", "to N", "at least N",
"below N"), and the leading verb is found with a little morphology ("Launched", "Hosting",
"set up", "rolled out"). The four judges then read that structure with small lexicons of
words (activity verbs, outcome verbs, generic verbs and nouns, metric words); there is no
list of known sentences anywhere, so the judges generalise to titles nobody wrote yet.

Each judge returns a :class:`Verdict`: whether the rule fires and a short human reason
naming what was seen.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from headway.coach import german, grammar
from headway.coach.verdict import Number, Verdict, _, quote

__all__ = [
    "Parsed",
    "Token",
    "Verdict",
    "kr_is_task",
    "kr_not_measurable",
    "lemma",
    "objective_is_metric",
    "objective_vague",
    "parse",
]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Token:
    """One token of a title.

    ``kind`` is ``"word"``, ``"number"`` or ``"symbol"``. Numbers carry a ``value`` and a
    ``role``: ``"measure"`` (a quantity), ``"weak"`` (the word "one", a quantity only in a
    measuring context), ``"date"`` (a year, a quarter, a time of day, a day of a month),
    ``"id"`` (part of a name: "ISO 9001", "line 3", "24/7"), ``"ordinal"`` ("3rd") or
    ``"qualifier"`` ("30-day readmissions").
    """

    text: str
    kind: str
    value: float | None = None
    role: str = ""
    percent: bool = False
    currency: str = ""

    @property
    def is_measure(self) -> bool:
        return self.kind == "number" and self.role in ("measure", "weak")


@dataclass(frozen=True, slots=True)
class Parsed:
    """The structure of a title that the judges read."""

    text: str
    tokens: tuple[str, ...]
    items: tuple[Token, ...]
    numbers: tuple[float, ...]
    has_percent: bool
    has_currency: bool
    has_from_to: bool
    has_by_amount: bool
    has_to_amount: bool
    has_bound: bool
    has_of_amount: bool
    has_multiplier: bool
    first_verb: str | None
    first_verb_word: str | None
    verb_end: int
    leading_count: str | None
    words: tuple[str, ...]

    @property
    def has_target_shape(self) -> bool:
        """A shape that states a target value: %, currency, from-to, by/to/at-least N."""
        return (
            self.has_percent
            or self.has_currency
            or self.has_from_to
            or self.has_by_amount
            or self.has_to_amount
            or self.has_bound
            or self.has_of_amount
        )

    @property
    def measures(self) -> tuple[Token, ...]:
        """Number tokens that measure something (not dates, names or ordinals)."""
        return tuple(t for t in self.items if t.kind == "number" and t.role == "measure")


# --------------------------------------------------------------------------- lexicons


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Verbs of doing: a key result led by one of these describes work, not its effect.
ACTIVITY_VERBS = _words(
    """
    attend join hire recruit write rewrite launch relaunch post run hold create build rebuild
    publish organise organize complete ship send conduct implement start host train design
    redesign develop draft prepare deploy install migrate introduce schedule plan review audit
    interview call visit meet present produce record document test research survey define
    establish finalise finalize finish pilot trial refactor replace buy purchase submit file
    map identify evaluate assess analyse analyze investigate explore begin perform execute
    distribute print email tweet blog film open deliver make give speak participate
    translate upload share announce advertise sponsor exhibit contact pitch demo teach mentor
    coach onboard digitise digitize automate integrate configure upgrade install refurbish
    renovate construct order procure contract negotiate renegotiate outsource set roll kick
    carry put stand spin wrap follow offer provide process resolve answer handle serve treat
    respond dispatch fulfil fulfill release arrange book collect gather apply
    supply switch migrate transfer digitise
    """
)

# Activity verbs whose object can be an outcome: "Hold churn below 2%", "Deliver 95% of
# orders before noon", "Build a pipeline worth €3M". With a target shape they are outcomes.
AMBIGUOUS_ACTIVITY = _words(
    """
    hold run deliver complete ship process resolve answer handle serve treat open make
    build send respond offer provide dispatch fulfil fulfill perform collect book
    """
)

# Phrasal verbs, written with "_" and joined with a space.
PHRASAL_VERBS = frozenset(
    p.replace("_", " ")
    for p in _words(
        """
        set_up roll_out kick_off carry_out put_in stand_up spin_up wrap_up follow_up sign_up
        work_on focus_on look_at look_into invest_in step_up level_up speed_up bring_down
        drive_down drive_up get_to go_live sign_off cut_down scale_up reach_out
        """
    )
)
PHRASAL_ACTIVITY = frozenset(
    {"set up", "roll out", "kick off", "carry out", "put in", "stand up", "spin up", "wrap up"}
    | {"follow up", "reach out"}
)

# Verbs that name a change in a quantity: a key result led by one of these is an outcome.
OUTCOME_VERBS = _words(
    """
    raise increase reduce decrease cut grow keep reach lower improve achieve hit maintain boost
    lift halve double triple quadruple shrink drop bring get move stay remain exceed sustain
    limit minimise minimize maximise maximize eliminate save earn generate win retain convert
    acquire attract sell shorten accelerate decline fall rise climb slash trim contain cap
    restore recover secure gain beat surpass top match push return expand extend prevent avoid
    lose halt stop eradicate enrol enroll lead outperform average score close land
    """
) | {"speed up", "bring down", "drive down", "drive up", "cut down", "get to", "scale up"}

# Verbs that move a quantity in a direction: "Lower staff turnover" names a KPI and a way.
DIRECTION_VERBS = _words(
    """
    raise increase reduce decrease cut grow lower boost lift halve double triple quadruple
    shrink drop slash trim minimise minimize maximise maximize shorten accelerate improve
    rise fall climb decline
    """
) | {"speed up", "bring down", "drive down", "drive up", "cut down"}

# Generic verbs: on their own they say nothing about what should change.
VAGUE_VERBS = _words(
    """
    improve optimise optimize enhance boost increase grow drive strengthen develop support
    advance elevate maximise maximize streamline transform modernise modernize upgrade revamp
    better prioritise prioritize address tackle continue maintain ensure build deliver achieve
    foster promote embrace champion innovate excel succeed win be become make get do take
    create protect invest focus work look step level expand scale accelerate evolve refine
    help reinforce leverage empower unlock delight wow inspire amaze excite energise
    energize enable stay keep continue raise lead move go
    """
) | {"work on", "focus on", "look at", "look into", "invest in", "step up", "level up", "scale up"}

# The purest of them: "Improve onboarding" is vague even though "onboarding" is specific.
PURE_VAGUE_VERBS = _words(
    """
    improve optimise optimize enhance strengthen streamline modernise modernize revamp
    upgrade elevate transform better boost refine advance develop
    """
) | {"work on", "focus on", "look at", "look into", "step up", "level up"}

# Broad nouns and adjectives: a title made only of these (and a generic verb) is vague.
GENERIC_WORDS = _words(
    """
    marketing sales operations ops operation process processes performance quality efficiency
    productivity communication communications culture engagement experience experiences
    service services growth thing things everything stuff results result outcomes outcome
    teamwork collaboration innovation strategy strategies brand presence visibility awareness
    system systems workflow workflows satisfaction relationship relationships capability
    capabilities skill skills team teams product products business businesses company
    companies organisation organization organisations organizations charity firm group
    infrastructure security reliability data technology tech it finance hr support delivery
    way ways work standard standards excellence leadership management execution reputation
    image customer customers client clients user users people staff employee employees
    partner partners partnership partnerships stakeholder stakeholders community communities
    market markets position positioning impact value effectiveness capacity morale wellbeing
    well-being logistics digital online level levels game efficiency sustainability success
    approach approaches practice practices operations function functions area areas
    department departments student students patient patients member members everyone
    everybody place world future journey model models framework solution solutions offering
    choice employer leader leaders provider destination competition competitors ahead
    bar winning everywhere forward relevant smarter grow growing going moving momentum
    ambition potential together transformation smart smartly efficiently harder leaner
    agility relevance industry sector field space competitive competitiveness edge premium
    reporting analytics insights fantastic further beyond top-notch first-rate great
    values sustainably professional professionally centre center heart future-proof
    synergies synergy live
    offerings output outputs service-level excellence culture values mission vision
    core key overall general internal external better best good great excellent strong
    stronger world-class top leading high higher next new more efficient effective happy
    happier successful amazing awesome outstanding superior exceptional robust seamless
    modern smart agile lean operational organisational organizational customer-centric
    people-centric data-driven innovative sustainable whole entire various important critical
    big bigger real true positive healthy best-in-class first-class high-performing
    high-quality excellent cutting-edge next-level scalable efficient streamlined consistent
    continuous ongoing day-to-day everyday business-as-usual end-to-end holistic strategic
    tactical proactive dynamic simple simpler easier fast faster clear clearer
    """
)

# Names of measured quantities (the head of a KPI's name).
METRIC_WORDS = _words(
    """
    rate rates ratio ratios revenue revenues arr mrr sales margin margins profit profits cost
    costs churn retention conversion conversions nps csat ces score scores attendance
    utilisation utilization occupancy uptime downtime latency throughput yield turnover
    attrition absenteeism absence absences backlog time times duration delay delays defects
    defect errors incidents complaints accuracy share traffic visits sessions signups sign-ups
    leads bookings donations income spend spending price prices volume volumes readmissions
    mortality infections falls injuries accidents scrap waste emissions consumption footfall
    size ltv cac roi roas ctr cpa cpl abandonment adoption activation usage dau mau wau
    enrolment enrollment enrolments enrollments coverage stockouts shrinkage overtime
    fatalities breaches rework returns refunds arrears debt ebitda gmv aov number amount count
    proportion percentage cycle-time lead-time wait waits no-shows dropouts exclusions
    vacancies vacancy inventory stock gap gaps footprint reach subscribers followers
    renewals renewal upsell sign-up dwell run-rate bounce rating ratings adherence
    compliance completion punctuality availability
    """
)

# Countable populations: "Grow paying subscribers" names a quantity as well.
POPULATION_WORDS = _words(
    """
    customers users subscribers members donors volunteers visitors accounts clients buyers
    patients students pupils followers downloads installs orders deliveries parcels shipments
    """
)

# Verbs whose subject acts by choice: "200 parents attended" counts an outcome.
PARTICIPANT_VERBS = _words("join attend enrol enroll register subscribe visit return buy book")
PEOPLE_WORDS = _words(
    "people residents families parents attendees guests fans learners readers listeners viewers"
)

# Broad qualities that can be measured (used to spot a milestone that hides a quantity).
QUALITY_WORDS = _words(
    """
    satisfaction engagement quality efficiency productivity performance morale awareness
    visibility loyalty trust wellbeing well-being reputation speed reliability punctuality
    safety health happiness experience responsiveness
    """
)

COMPARATIVES = _words(
    """
    better worse higher lower more fewer less faster quicker slower shorter longer cheaper
    happier safer greater bigger smaller stronger healthier easier cleaner leaner tighter
    smoother improved increased reduced lowered raised
    """
)

# A finished thing: "… approved", "… live", "… in place".
STATE_WORDS = _words(
    """
    live approved signed certified accredited agreed adopted available operational ready done
    finished complete completed launched published ratified passed awarded obtained
    in-place go-live signed-off delivered installed deployed
    """
)
DELIVERABLE_VERBS = ACTIVITY_VERBS | _words(
    "approve agree adopt certify accredit pass ratify award obtain receive go sign close"
)

STOPWORDS = _words(
    """
    a an the our my your their its his her this that these those we us i you they it them
    and or but nor of to in on at for with by from as into onto across through throughout
    so is are be been being was were will shall should must can could would do does did
    all each every than while within about over under up down out off per via there here
    what which who whom whose when where how why not very really also just even still some
    any both own such too then if because whether among between around against without
    upon toward towards again ever s 's always never
    """
)

PREPOSITIONS = _words(
    """
    of to in on at for with by from into onto across through throughout within about over
    under per via among between around against without upon toward towards than during
    before after until since like above below beyond behind near inside outside
    """
)

# Words that start a clause: what comes after them describes a change, a reason, a who.
CLAUSE_WORDS = _words("that because which who where when while until unless whereby")

# Words that introduce the reason for a change: "Reduce X so nurses can …".
PURPOSE_WORDS = _words("so because whereby")

# Prepositions whose phrase can say for whom or where: "for new volunteers", "on wards".
WHO_PREPOSITIONS = _words("for on in at among amongst with within inside")

UNIVERSAL = _words("every all each")

# Words between which a number is part of a name: "line 3", "ISO 9001", "Year 7".
ID_PRECEDERS = _words(
    """
    iso tier level phase version v stage grade step wave gen generation section article type
    class category series room ward line gate bay floor building plant site store unit zone
    lab hall block platform terminal dock warehouse depot route year week day form module
    sprint release chapter no number key covid pci soc gdpr item part bus channel wcag
    """
)

MONTHS = _words(
    """
    jan january feb february mar march apr april may jun june jul july aug august sep sept
    september oct october nov november dec december
    """
)

UNITS = _words(
    """
    day days hour hours minute minutes min mins second seconds sec secs week weeks month
    months year years km kilometres kilometers mile miles kg kilos tonne tonnes ton tons litre
    litres liter liters kwh mwh points point pts stars star ms gb tb mb x times people
    percent pct
    """
)

# A number after these words names a scope: "the first 90 days", "our two depots".
SCOPE_PRECEDERS = _words("the our their its these those both every each")
TIME_BOX_UNITS = _words("year years month months quarter quarters")

BOUND_PHRASES = (
    ("at", "least"),
    ("at", "most"),
    ("no", "more", "than"),
    ("no", "less", "than"),
    ("no", "fewer", "than"),
    ("more", "than"),
    ("fewer", "than"),
    ("less", "than"),
    ("greater", "than"),
    ("lower", "than"),
    ("higher", "than"),
    ("up", "to"),
    ("under",),
    ("below",),
    ("above",),
    ("over",),
    ("beyond",),
    ("within",),
    (">=",),
    ("<=",),
    (">",),
    ("<",),
)
TRAILING_BOUNDS = _words("more less higher lower fewer better above below")

MULTIPLIER_WORDS = _words(
    """
    double doubled doubles doubling triple tripled triples tripling quadruple quadrupled
    halve halved halves halving twice threefold twofold fourfold fivefold tenfold
    """
)
FRACTION_WORDS = {"half": 0.5, "third": 1 / 3, "quarter": 0.25, "fifth": 0.2, "tenth": 0.1}

SPELLED_NUMBERS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "dozen": 12,
}
SCALE_WORDS = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1e9}
SUFFIX_SCALE = {"k": 1e3, "m": 1e6, "mn": 1e6, "bn": 1e9, "b": 1e9}
CURRENCY_SYMBOLS = {"$": "$", "€": "€", "£": "£", "¥": "¥"}
CURRENCY_WORDS = _words("dollars euros pounds usd eur gbp chf sek nok dkk yen rupees")

# Skipped before the leading verb: "We will launch", "Successfully launch", "To launch".
LEAD_SKIP = _words("we will to team must should shall i also then successfully fully finally")

# After a bare noun phrase, these words start a measured condition: "Survey response above 60%".
NP_BOUND_WORDS = _words("above below under over at up down within")

# A word right after the first one that shows the first one is a noun: "Training is …".
NOUN_SIGNALS = _words(
    """
    is are was were goes go rises rise falls fall drops stays remains takes reaches gets
    becomes has have hits climbs improves increases decreases grows shrinks moves sits
    """
)

IRREGULAR = {
    "written": "write",
    "wrote": "write",
    "rewritten": "rewrite",
    "ran": "run",
    "held": "hold",
    "built": "build",
    "rebuilt": "rebuild",
    "sent": "send",
    "made": "make",
    "began": "begin",
    "begun": "begin",
    "done": "do",
    "did": "do",
    "met": "meet",
    "gave": "give",
    "given": "give",
    "took": "take",
    "taken": "take",
    "brought": "bring",
    "kept": "keep",
    "grew": "grow",
    "grown": "grow",
    "won": "win",
    "got": "get",
    "gotten": "get",
    "sold": "sell",
    "bought": "buy",
    "spoke": "speak",
    "spoken": "speak",
    "taught": "teach",
    "led": "lead",
    "rose": "rise",
    "risen": "rise",
    "fell": "fall",
    "fallen": "fall",
    "shown": "show",
    "drew": "draw",
    "drawn": "draw",
    "undertaken": "undertake",
    "shot": "shoot",
    "became": "become",
    "been": "be",
    "was": "be",
    "were": "be",
    "is": "be",
    "are": "be",
    "am": "be",
    "went": "go",
    "gone": "go",
    "paid": "pay",
    "found": "find",
    "lost": "lose",
    "chosen": "choose",
    "understood": "understand",
    "stood": "stand",
    "spun": "spin",
}
PAST_PARTICIPLES = frozenset(
    set(IRREGULAR) - {"wrote", "ran", "began", "did", "gave", "took", "grew", "spoke", "rose"}
) | _words("run set put cut shut read hit spread upset")

KNOWN_VERBS = (
    ACTIVITY_VERBS
    | OUTCOME_VERBS
    | VAGUE_VERBS
    | DIRECTION_VERBS
    | DELIVERABLE_VERBS
    | PHRASAL_VERBS
    | _words("help turn give be become let see pay find show sell buy protect put lead")
)

_TRANSLATE = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": " - ",
        "\u2212": "-",
        "\u2265": ">=",
        "\u2264": "<=",
        "\u2192": " to ",
        "\u00a0": " ",
    }
)

_MULTIPLIER_RE = re.compile(r"x\d+|\d+x")

_TOKEN_RE = re.compile(
    r"""
    (?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)
        (?P<suf>k|mn|m|bn|b|x|%|st|nd|rd|th|am|pm|h|hrs|pp)?(?![^\W_])
    | (?P<word>[^\W\d_][^\W_]*(?:[&'\-][^\W_]+)*)
    | (?P<sym>->|>=|<=|[$€£¥%<>+/\#~=:])
    """,
    re.VERBOSE,
)


# --------------------------------------------------------------------------- morphology


def _verb_candidates(word: str) -> Iterator[str]:
    yield word
    if word.endswith("ies") and len(word) > 4:
        yield word[:-3] + "y"
    if word.endswith("ied") and len(word) > 4:
        yield word[:-3] + "y"
    if word.endswith("ing") and len(word) > 4:
        stem = word[:-3]
        yield stem
        yield stem + "e"
        if len(stem) > 2 and stem[-1] == stem[-2]:
            yield stem[:-1]
    if word.endswith("ed") and len(word) > 3:
        stem = word[:-2]
        yield stem
        yield word[:-1]
        if len(stem) > 2 and stem[-1] == stem[-2]:
            yield stem[:-1]
    if word.endswith("es") and len(word) > 3:
        yield word[:-2]
    if word.endswith("s") and len(word) > 2:
        yield word[:-1]


def lemma(word: str) -> str:
    """The base form of a verb ("Launched" → "launch", "hosting" → "host").

    Words that are not known verbs in any form come back lowercased but unchanged.
    """
    word = word.lower()
    if word in IRREGULAR:
        return IRREGULAR[word]
    for candidate in _verb_candidates(word):
        if candidate in KNOWN_VERBS:
            return candidate
    if "-" in word:  # "re-launch", "co-host"
        head = word.split("-", 1)[1]
        for candidate in _verb_candidates(head):
            if candidate in KNOWN_VERBS:
                return candidate
    return word


def _is_participle(word: str) -> bool:
    return word in PAST_PARTICIPLES or (word.endswith(("ed", "en")) and len(word) > 4)


def _is_generic(word: str) -> bool:
    if word in GENERIC_WORDS:
        return True
    if word.endswith("s") and word[:-1] in GENERIC_WORDS:
        return True
    if "-" in word:
        return all(part in GENERIC_WORDS or part in STOPWORDS for part in word.split("-"))
    return False


def _is_metric(word: str) -> bool:
    return word in METRIC_WORDS or (word.endswith("s") and word[:-1] in METRIC_WORDS)


# --------------------------------------------------------------------------- tokenising


@dataclass(slots=True)
class _Raw:
    text: str
    kind: str
    value: float | None = None
    suffix: str = ""
    hyphen_after: bool = False
    role: str = ""
    percent: bool = False
    currency: str = ""
    drop: bool = False


def _scan(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    for m in _TOKEN_RE.finditer(text):
        if m.group("num") is not None:
            raw = m.group("num")
            value = float(raw.replace(",", ""))
            suffix = m.group("suf") or ""
            end = m.end()
            out.append(
                _Raw(
                    text=raw + suffix,
                    kind="number",
                    value=value,
                    suffix=suffix,
                    hyphen_after=end < len(text) and text[end] == "-",
                )
            )
        elif m.group("word") is not None:
            out.append(_Raw(text=m.group("word"), kind="word"))
        else:
            out.append(_Raw(text=m.group("sym"), kind="symbol"))
    return out


def _text_at(raws: list[_Raw], i: int) -> str:
    return raws[i].text if 0 <= i < len(raws) else ""


def _spell_numbers(raws: list[_Raw]) -> None:
    """Turn spelled-out numbers ("three", "two hundred") into number tokens."""
    for i, r in enumerate(raws):
        if r.kind != "word":
            continue
        if r.text in SPELLED_NUMBERS:
            r.kind, r.value = "number", float(SPELLED_NUMBERS[r.text])
            r.role = "weak" if r.text == "one" else ""
        elif r.text in SCALE_WORDS:
            prev = raws[i - 1] if i > 0 else None
            if prev is not None and prev.kind == "number" and prev.value is not None:
                prev.value *= SCALE_WORDS[r.text]
                prev.text = f"{prev.text} {r.text}"
                r.drop = True
            else:
                r.kind, r.value = "number", float(SCALE_WORDS[r.text])


def _attach_units(raws: list[_Raw]) -> None:
    """Percent, currency and scale suffixes ("10k", "€2.5m", "95 percent")."""
    for i, r in enumerate(raws):
        if r.kind != "number" or r.value is None or r.drop:
            continue
        if r.suffix in SUFFIX_SCALE:
            r.value *= SUFFIX_SCALE[r.suffix]
        if r.suffix in ("%", "pp"):
            r.percent = True
        nxt, nxt2 = _text_at(raws, i + 1), _text_at(raws, i + 2)
        if nxt == "%" or nxt in ("percent", "pct", "percentage"):
            r.percent, r.text = True, r.text + "%"
            raws[i + 1].drop = True
        elif nxt == "per" and nxt2 == "cent":
            r.percent, r.text = True, r.text + "%"
            raws[i + 1].drop = raws[i + 2].drop = True
        if nxt in SCALE_WORDS:
            r.value *= SCALE_WORDS[nxt]
            raws[i + 1].drop = True
        prev = raws[i - 1] if i > 0 else None
        if prev is not None and prev.kind == "symbol" and prev.text in CURRENCY_SYMBOLS:
            r.currency = CURRENCY_SYMBOLS[prev.text]
            prev.drop = True
        elif nxt in CURRENCY_WORDS:
            r.currency = nxt


def _names_something(raws: list[_Raw], i: int) -> bool:
    """The number is part of a name: "line 3", "ISO-9001", "#1", "24/7"."""
    prev, prev2, nxt = _text_at(raws, i - 1), _text_at(raws, i - 2), _text_at(raws, i + 1)
    if prev in ID_PRECEDERS or prev == "#" or (prev == "-" and prev2 in ID_PRECEDERS):
        return True
    value = raws[i].value
    return (prev == "/" and prev2 == "24" and value == 7) or (
        nxt == "/" and value == 24 and _text_at(raws, i + 2) == "7"
    )


def _is_scope(raws: list[_Raw], i: int) -> bool:
    """The number sets a scope, not a target: "the first 90 days", "our two depots",
    "over the next 3 years", "every 6 weeks"."""
    prev, nxt = _text_at(raws, i - 1), _text_at(raws, i + 1)
    if prev in SCOPE_PRECEDERS:
        return True
    if prev in ("first", "last", "next", "past"):
        return nxt in UNITS
    return nxt in TIME_BOX_UNITS and prev in ("in", "within", "over", "for", "of")


def _classify_numbers(raws: list[_Raw]) -> None:
    """Decide what each number is: a measure, a date, part of a name, an ordinal."""
    for i, r in enumerate(raws):
        if r.kind != "number" or r.value is None or r.drop:
            continue
        if r.role == "weak":
            continue
        prev, nxt = _text_at(raws, i - 1), _text_at(raws, i + 1)
        if r.suffix in ("st", "nd", "rd", "th"):
            r.role = "date" if prev in MONTHS or nxt in MONTHS else "ordinal"
        elif r.suffix in ("am", "pm") or (nxt == ":" and i + 2 < len(raws)):
            r.role = "date"
        elif r.currency or r.percent:
            r.role = "measure"
        elif prev in MONTHS or nxt in MONTHS:
            r.role = "date"
        elif _names_something(raws, i):
            r.role = "id"
        elif (r.hyphen_after and not r.suffix) or _is_scope(raws, i):
            r.role = "qualifier"
        elif (
            r.value.is_integer()
            and 1990 <= r.value <= 2100
            and "," not in r.text
            and not r.suffix
            and not (nxt.endswith("s") and nxt not in ("is", "was", "has"))
            and nxt not in UNITS
        ):
            r.role = "date"
        else:
            r.role = "measure"
    # "one" is a quantity only in a measuring context: "within one day", "from one to".
    for i, r in enumerate(raws):
        if r.kind == "number" and r.role == "weak":
            prev, nxt = _text_at(raws, i - 1), _text_at(raws, i + 1)
            measuring = prev in ("from", "to", "within", "under", "below", "than", "least")
            if measuring or nxt in UNITS or nxt in ("percent", "in"):
                r.role = "measure"


def _tokenise(text: str) -> list[Token]:
    normalised = text.translate(_TRANSLATE).lower()
    raws = _scan(normalised)
    _spell_numbers(raws)
    raws = [r for r in raws if not r.drop]
    _attach_units(raws)
    raws = [r for r in raws if not r.drop]
    _classify_numbers(raws)
    tokens: list[Token] = []
    for r in raws:
        if r.kind == "number":
            tokens.append(
                Token(r.text, "number", r.value, r.role, percent=r.percent, currency=r.currency)
            )
        elif r.kind == "word" and _MULTIPLIER_RE.fullmatch(r.text):
            tokens.append(Token(r.text, "word"))  # "x2": a multiplier word
        else:
            tokens.append(Token(r.text, r.kind))
    return tokens


# --------------------------------------------------------------------------- shapes


def _is_measure(tokens: list[Token], i: int) -> bool:
    return 0 <= i < len(tokens) and tokens[i].kind == "number" and tokens[i].role == "measure"


def _text(tokens: list[Token], i: int) -> str:
    return tokens[i].text if 0 <= i < len(tokens) else ""


def _next_measure(tokens: list[Token], i: int, span: int) -> int | None:
    for j in range(i, min(i + span, len(tokens))):
        if _is_measure(tokens, j):
            return j
    return None


def _from_to(tokens: list[Token]) -> bool:
    for i, t in enumerate(tokens):
        if t.text == "from":
            a = _next_measure(tokens, i + 1, 6)
            if a is None:
                continue
            for j in range(a + 1, min(a + 5, len(tokens))):
                if tokens[j].text in ("to", "->") and _next_measure(tokens, j + 1, 3) is not None:
                    return True
        if _is_measure(tokens, i) and _text(tokens, i - 1) != "by":
            j = i + 2 if _text(tokens, i + 1) in UNITS else i + 1  # "12 days to 5 days"
            if _text(tokens, j) in ("to", "->") and _is_measure(tokens, j + 1):
                return True
    return False


def _by_amount(tokens: list[Token]) -> bool:
    for i, t in enumerate(tokens):
        if t.text != "by":
            continue
        nxt, nxt2 = _text(tokens, i + 1), _text(tokens, i + 2)
        if _is_measure(tokens, i + 1):
            return True
        if nxt in ("another", "a", "an") and _is_measure(tokens, i + 2):
            return True
        if nxt == "half" or (nxt in ("a", "one") and nxt2.rstrip("s") in FRACTION_WORDS):
            return True
    return False


def _to_amount(tokens: list[Token]) -> bool:
    for i, t in enumerate(tokens):
        if t.text not in ("to", "reach", "reaches", "hit", "hits", "at"):
            continue
        j = i + 1
        while _text(tokens, j) in ("under", "below", "just", "around", "about", "only", "a"):
            j += 1
        if _is_measure(tokens, j):
            return True
    return False


_BOUNDS_BY_FIRST: dict[str, tuple[tuple[str, ...], ...]] = {
    first: tuple(p for p in BOUND_PHRASES if p[0] == first) for first, *_rest in BOUND_PHRASES
}


def _bound(tokens: list[Token]) -> bool:
    texts = [t.text for t in tokens]
    for i in range(len(tokens)):
        for phrase in _BOUNDS_BY_FIRST.get(texts[i], ()):
            if tuple(texts[i : i + len(phrase)]) == phrase:
                j = i + len(phrase)
                if _text(tokens, j) in ("a", "an", "the", "just"):
                    j += 1
                if _is_measure(tokens, j):
                    return True
        if _is_measure(tokens, i):
            if _text(tokens, i + 1) == "+":
                return True
            if _text(tokens, i + 1) == "or" and _text(tokens, i + 2) in TRAILING_BOUNDS:
                return True
    return False


def _of_amount(tokens: list[Token]) -> bool:
    """ "an NPS of 45", "an average of 4.5": a metric given a value."""
    for i, t in enumerate(tokens):
        if t.text == "of" and i > 0 and _is_measure(tokens, i + 1):
            prev = tokens[i - 1].text
            if _is_metric(prev) or prev == "average":
                return True
    return False


def _multiplier(tokens: list[Token]) -> bool:
    texts = [t.text for t in tokens]
    if any(w in MULTIPLIER_WORDS or _MULTIPLIER_RE.fullmatch(w) for w in texts):
        return True
    if any(t.kind == "number" and t.text.endswith("x") for t in tokens):
        return True
    return any(a == "in" and b == "half" for a, b in itertools.pairwise(texts))


# --------------------------------------------------------------------------- verbs


def _leading_verb(tokens: list[Token]) -> tuple[str | None, str | None, int]:
    """The lemma and surface form of the title's leading verb, and where its object starts.

    Skips "We will", "To", "Successfully" and the like; joins phrasal verbs ("set up");
    refuses a noun that merely looks like a verb ("Training completion rate above 90%",
    "Hiring takes 40 days").
    """
    i = 0
    while i < len(tokens) and tokens[i].kind == "word":
        w = tokens[i].text
        if w in LEAD_SKIP or (w.endswith("ly") and len(w) > 4 and lemma(w) not in KNOWN_VERBS):
            i += 1
            continue
        break
    if i >= len(tokens) or tokens[i].kind != "word":
        return None, None, 0
    word = tokens[i].text
    base = lemma(word)
    end = i + 1
    particle = _text(tokens, i + 1)
    if f"{base} {particle}" in PHRASAL_VERBS:
        base, end = f"{base} {particle}", i + 2
    elif "-" in word and word.replace("-", " ", 1) in PHRASAL_VERBS:
        base = word.replace("-", " ", 1)
    elif "-" in word:
        first = lemma(word.split("-", 1)[0])
        if f"{first} {word.split('-', 1)[1]}" in PHRASAL_VERBS:
            base = f"{first} {word.split('-', 1)[1]}"
    if base not in KNOWN_VERBS:
        return None, None, 0
    # A noun in disguise: followed by a verb of state, or heading a metric's name.
    nxt = _text(tokens, end)
    if nxt in NOUN_SIGNALS:
        return None, None, 0
    if end == i + 1 and (word.endswith("ing") or base == word) and base not in PURE_VAGUE_VERBS:
        run: list[str] = [word]
        for t in tokens[i + 1 :]:
            if t.kind != "word" or t.text in STOPWORDS or t.text in PREPOSITIONS:
                break
            run.append(t.text)
        if len(run) >= 2 and base not in DIRECTION_VERBS:
            after = i + len(run)
            if _is_metric(run[-1]) or _is_measure(tokens, after):
                return None, None, 0
            bound = _text(tokens, after) in NP_BOUND_WORDS and not run[-1].endswith("s")
            if bound and _next_measure(tokens, after + 1, 3) is not None:
                return None, None, 0
    return base, word, end


def _leading_count(tokens: list[Token]) -> str | None:
    """ "10 webinars hosted", "Three new stores opened": a count of things done."""
    i = 0
    texts = [t.text for t in tokens]
    for phrase in (("at", "least"), ("more", "than"), ("over",), ("a", "total", "of")):
        if tuple(texts[: len(phrase)]) == phrase:
            i = len(phrase)
            break
    if i >= len(tokens):
        return None
    head = tokens[i]
    if head.kind != "number" or head.role not in ("measure", "weak"):
        return None
    if head.percent or head.currency:
        return None
    for j in range(i + 1, min(i + 7, len(tokens))):
        t = tokens[j]
        if t.kind != "word" or t.text in PREPOSITIONS:
            return None
        if _is_participle(t.text) and lemma(t.text) in ACTIVITY_VERBS:
            people = any(w in POPULATION_WORDS or w in PEOPLE_WORDS for w in texts[i + 1 : j])
            if people and lemma(t.text) in PARTICIPANT_VERBS:
                return None  # "500 new members joined": people chose to, an outcome
            return " ".join(texts[i : j + 1])
    return None


def _passive_deliverable(tokens: list[Token]) -> str | None:
    """ "New volunteer handbook published": a deliverable reported as done."""
    if not tokens or tokens[0].kind != "word" or tokens[0].text in UNIVERSAL:
        return None
    for j in range(1, min(7, len(tokens))):
        t = tokens[j]
        if t.kind != "word" or t.text in PREPOSITIONS or t.text in CLAUSE_WORDS:
            return None
        if _is_participle(t.text) and lemma(t.text) in ACTIVITY_VERBS:
            return " ".join(x.text for x in tokens[: j + 1])
    return None


def _object_head(tokens: list[Token], start: int) -> str | None:
    """The last word of the noun phrase after the verb ("the cost" of "the cost of …")."""
    head: str | None = None
    for t in tokens[start:]:
        if t.kind != "word":
            if t.kind == "number":
                continue
            break
        w = t.text
        if w in PREPOSITIONS or w in CLAUSE_WORDS or w in ("and", "or", "so", "while", "by"):
            break
        if w in STOPWORDS:
            continue
        head = w
    return head


# --------------------------------------------------------------------------- grammar

# Nouns that name an activity: "Rollout of the new tills 100% done" reports work done.
ACTIVITY_NOUNS = _words(
    """
    rollout roll-out deployment implementation migration installation onboarding launch
    introduction delivery completion creation development redesign rebuild build setup
    set-up upgrade replacement switchover changeover conversion digitisation digitization
    translation publication production refurbishment renovation construction build-out
    buildout planning preparation drafting design review audit organisation organization
    """
)
# Words that make a participle a service level: "Refunds processed within a day".
CONDITION_WORDS = _words(
    """
    within without first same on-time time promptly correctly error-free right while next
    online under before next-day same-day unaided warm undamaged intact full
    """
)
# Things one signs as a piece of work: "Sign the framework agreement".
DOCUMENT_WORDS = _words("agreement agreements contract contracts lease memorandum charter policy")
# Verbs that reach a count: "Reach 50,000 readers", "Sell 3,000 tickets".
COUNT_TARGET_VERBS = _words(
    "reach hit sell attract acquire gain enrol enroll sign recruit get grow generate raise"
)


def _grammar_task(title: str) -> Verdict | None:
    """What the grammar of an English key result decides, or None to read its words.

    The head of the phrase decides: an activity noun ("Rollout of …"), a count of outputs
    ("number of posts published"), or a noun phrase followed by a participle, which is a
    task when nothing qualifies it ("Teams trained on the tool") and a service level when
    something does ("Refunds processed within a day", "Orders shipped the same day").
    """
    words = grammar.analyse(title, "en")
    if not words:
        return None
    start = 1 if words[0].pos == "DET" and len(words) > 1 else 0
    head = words[start]
    if head.pos == "NOUN" and head.lower in ACTIVITY_NOUNS and start + 1 < len(words):
        after = words[start + 1].lower
        if after == "of" or words[-1].lower in STATE_WORDS:
            return Verdict(
                True, _('names an activity ("%(text)s") instead of its effect', text=head.text)
            )
    lows = [w.lower for w in words]
    lead = 1 if lows[0] in ("we", "i") and len(words) > 1 else 0
    switch = words[lead].lemma in ("move", "transfer", "shift")
    if (
        switch
        and ("over" in lows or "to" in lows[lead + 2 :])
        and not any(w.pos == "NUM" for w in words)
    ):
        return Verdict(
            True, _('"%(text)s … to …" describes a switch-over task', text=words[lead].text)
        )
    if words[lead].lemma == "sign" and any(w.lower in DOCUMENT_WORDS for w in words[lead + 1 :]):
        document = next(w.text for w in words[lead + 1 :] if w.lower in DOCUMENT_WORDS)
        return Verdict(True, _('signing a document ("%(document)s") is a task', document=document))
    if "number" in lows:
        i = lows.index("number")
        if lows[i + 1 : i + 2] == ["of"]:
            for w in words[i + 2 : i + 9]:
                if w.pos in ("PART", "PAST") and lemma(w.lower) in ACTIVITY_VERBS:
                    return Verdict(
                        True,
                        _('counts outputs ("number of … %(text)s"), not an outcome', text=w.text),
                    )
    if head.pos not in ("NOUN", "PROPN") or lows[0] in ("we", "i"):
        return None
    for j, w in enumerate(words[start + 1 : start + 8], start=start + 1):
        if w.pos in ("NUM", "SYM", "CONJ"):
            break
        if w.pos in ("PART", "PAST"):
            verb = lemma(w.lower)
            condition = next((x.text for x in words[j + 1 :] if x.lower in CONDITION_WORDS), None)
            if condition is not None:
                return Verdict(
                    False,
                    _(
                        '"%(text)s" with "%(condition)s" measures a service level',
                        text=w.text,
                        condition=condition,
                    ),
                )
            if verb in ACTIVITY_VERBS or verb in DELIVERABLE_VERBS:
                return Verdict(
                    True,
                    _('reports work done ("%(text)s … %(text2)s")', text=head.text, text2=w.text),
                )
            return None
        if w.pos in ("GER", "FIN", "AUX"):
            return Verdict(
                False,
                _(
                    '"%(text)s … %(text2)s" describes what happens, not a task',
                    text=head.text,
                    text2=w.text,
                ),
            )
    if head.tag == "NN2" or lows[start + 1 : start + 2] == ["of"]:
        return Verdict(
            False, _('starts with the noun "%(text)s", not a verb of doing', text=head.text)
        )
    return None


def _count_is_target(p: Parsed, title: str) -> str | None:
    """A plain count (no %, no currency) that the sentence asks to reach, or None."""
    words = grammar.analyse(title, "en")
    tagged = {w.lower: w for w in words}
    for t in p.measures:
        if t.percent or t.currency:
            return t.text
        i = p.items.index(t)
        prev = p.items[i - 1].text if i > 0 else ""
        original = tagged.get(prev)
        if original is not None and (original.pos == "PROPN" or original.text.isupper()):
            continue  # "PCI DSS 4.0": part of a name
        if prev in PREPOSITIONS and prev not in ("to", "by", "from"):
            continue  # "shoppers in 40 towns": a scope
        if p.first_verb in COUNT_TARGET_VERBS:
            return t.text
        head = _object_head(list(p.items), i + 1)
        if head is not None and head in POPULATION_WORDS and p.first_verb in ("win", "serve"):
            return t.text
    return None


# --------------------------------------------------------------------------- parse


@lru_cache(maxsize=50_000)
def parse(text: str) -> Parsed:
    """Tokenise a title and find its numbers, target shapes and leading verb."""
    tokens = _tokenise(text)
    verb, verb_word, verb_end = _leading_verb(tokens)
    numbers = tuple(
        t.value
        for t in tokens
        if t.kind == "number" and t.role == "measure" and t.value is not None
    )
    measures = [t for t in tokens if t.kind == "number" and t.role == "measure"]
    words = tuple(
        t.text for t in tokens if t.kind == "word" and t.text not in STOPWORDS and len(t.text) > 1
    )
    return Parsed(
        text=text,
        tokens=tuple(t.text for t in tokens),
        items=tuple(tokens),
        numbers=numbers,
        has_percent=any(t.percent for t in measures),
        has_currency=any(t.currency for t in measures),
        has_from_to=_from_to(tokens),
        has_by_amount=_by_amount(tokens),
        has_to_amount=_to_amount(tokens),
        has_bound=_bound(tokens),
        has_of_amount=_of_amount(tokens),
        has_multiplier=_multiplier(tokens),
        first_verb=verb,
        first_verb_word=verb_word,
        verb_end=verb_end,
        leading_count=_leading_count(tokens),
        words=words,
    )


# --------------------------------------------------------------------------- judges


def _quote(words: Iterable[str], limit: int = 4) -> str:
    return quote(words, limit)


def _number_evidence(p: Parsed) -> str | None:
    if p.has_from_to:
        return _('has the shape "from X to Y"')
    if p.has_by_amount:
        return _('asks for a change "by N"')
    for t in p.measures:
        if t.percent:
            return _('contains the percentage "%(number)s"', number=t.text)
        if t.currency:
            return _('states the amount "%(amount)s"', amount=f"{t.currency}{t.text}")
    if p.has_multiplier:
        word = next(
            (w for w in p.tokens if w in MULTIPLIER_WORDS or _MULTIPLIER_RE.fullmatch(w)),
            "in half",
        )
        return _('asks to multiply a quantity ("%(word)s")', word=word)
    if p.measures:
        return _('contains the number "%(number)s"', number=p.measures[0].text)
    return None


def _price(p: Parsed, amount: Token) -> bool:
    """An amount that says what something costs ("for ten pounds a month", "for under €5")."""
    i = p.items.index(amount)
    before = [t.text for t in p.items[max(0, i - 3) : i]]
    return "for" in before and p.first_verb not in COUNT_TARGET_VERBS


def _english_objective_is_metric(title: str) -> Verdict:
    """The objective reads like a KPI target rather than a qualitative change.

    Fires on a number that measures something (a percentage, an amount of money, a count,
    a duration), the shapes "from X to Y", "by N", "to N", on a multiplier ("double",
    "halve"), and on a direction verb applied to the name of a metric ("Lower staff
    turnover", "Shorten lead times"). Years, quarters, "ISO 9001" and "Year 7" are not measures.
    """
    p = parse(title)
    evidence = _number_evidence(p)
    if evidence and evidence.startswith(("contains the number", "states the amount")):
        amount = next((t for t in p.measures if t.currency), None)
        if amount is not None and _price(p, amount):
            evidence = None  # "a plan for ten pounds a month": a price, not a target
        elif (
            amount is None
            and not (p.has_bound or p.has_to_amount or p.has_of_amount)
            and (_count_is_target(p, title) is None)
        ):
            evidence = None  # "Open two flagship stores": a count, not a target
    if evidence:
        return Verdict(True, evidence)
    purpose = next((w for w in p.tokens if w in PURPOSE_WORDS), None)
    if purpose is not None:
        return Verdict(
            False,
            _('no target number, and "%(purpose)s …" says why the change matters', purpose=purpose),
        )
    if p.first_verb in DIRECTION_VERBS and p.first_verb not in PURE_VAGUE_VERBS - {"boost"}:
        head = _object_head(list(p.items), p.verb_end)
        if head is not None and (_is_metric(head) or head in POPULATION_WORDS):
            return Verdict(
                True,
                _(
                    'asks to "%(first_verb)s" the metric "%(head)s"',
                    first_verb=p.first_verb,
                    head=head,
                ),
            )
    first = p.tokens[0] if p.tokens else ""
    if first in COMPARATIVES and first not in ("better", "improved"):
        head = _object_head(list(p.items), 1)
        if head is not None and _is_metric(head):
            return Verdict(
                True, _('asks for "%(first)s" "%(head)s", a metric', first=first, head=head)
            )
    return Verdict(False, _("no number, percentage or metric target: a qualitative change"))


def _names_who(phrase: list[str]) -> bool:
    """A prepositional phrase that names a specific who or where ("on the night shift")."""
    if not phrase or phrase[0] not in WHO_PREPOSITIONS or phrase[1:2] in (["all"], ["every"]):
        return False
    return any(x not in STOPWORDS and not _is_generic(x) for x in phrase[1:])


def _object_and_qualifier(p: Parsed) -> tuple[list[str], str | None]:
    """The content words of the verb's object, and a qualifier naming who, where or why.

    The object runs from the verb to the first preposition or clause word. A qualifier is
    a clause ("so that …", "who …") or a prepositional phrase such as "for new volunteers"
    or "on the night shift" that names something specific; "across all stores" names
    everything, so it is no qualifier.
    """
    rest = list(p.tokens[p.verb_end :] if p.first_verb else p.tokens)
    obj: list[str] = []
    i = 0
    while i < len(rest) and rest[i] not in PREPOSITIONS and rest[i] not in CLAUSE_WORDS:
        w = rest[i]
        if w not in STOPWORDS and len(w) > 1 and lemma(w) not in ("be", "become"):
            obj.append(w)
        i += 1
    tail = rest[i:]
    for w in tail:
        if w in CLAUSE_WORDS or w == "so":
            return obj, f'"{w} …"'
    phrase: list[str] = []
    for w in [*tail, "of"]:  # a sentinel preposition closes the last phrase
        if w in PREPOSITIONS:
            if _names_who(phrase):
                return obj, f'"{" ".join(phrase)}"'
            phrase = [w]
        else:
            phrase.append(w)
    return obj, None


def _english_objective_vague(title: str) -> Verdict:
    """The objective is too vague to steer by.

    Fires when every content word is broad ("Improve our marketing", "Operational
    excellence", "Be great at everything"), or when a purely generic verb ("improve",
    "optimise", "work on", "make … better") has a bare object of one or two specific words
    and nothing says for whom, where or why ("Improve onboarding"). A number, a named
    subject or a qualifier ("for new volunteers", "on the night shift", "so that …") makes
    it concrete.
    """
    p = parse(title)
    if p.measures or p.has_multiplier:
        return Verdict(False, _("states a number, so the change is concrete"))
    verb = p.first_verb
    verb_words = set(p.tokens[: p.verb_end]) if verb else set()
    bag = [w for w in p.words if w not in verb_words and w not in LEAD_SKIP]
    bag = [w for w in bag if lemma(w) not in ("be", "become")]
    specific = [w for w in bag if not _is_generic(w)]
    label = _('generic verb "%(verb)s"', verb=verb) if verb else _("no verb")
    if not bag:
        if verb in VAGUE_VERBS:
            return Verdict(
                True, _("%(label)s with no object: nothing says what should change", label=label)
            )
        return Verdict(False, _("too short to judge"))
    if not specific:
        return Verdict(
            True, _("%(label)s with only broad words (%(words)s)", label=label, words=_quote(bag))
        )
    pure = verb in PURE_VAGUE_VERBS or (verb in ("make", "get") and "better" in bag)
    if pure:
        obj, qualifier = _object_and_qualifier(p)
        obj_specific = [w for w in obj if not _is_generic(w)]
        if qualifier is None and len(obj_specific) <= 2:
            return Verdict(
                True,
                _(
                    "%(label)s with a bare object (%(words)s): no who, where or what change",
                    label=label,
                    words=_quote(obj),
                ),
            )
        if qualifier is not None:
            return Verdict(False, _("has a qualifier (%(qualifier)s)", qualifier=qualifier))
    return Verdict(False, _("names a concrete subject (%(words)s)", words=_quote(specific)))


def _english_kr_is_task(title: str, kind: str | None = None) -> Verdict:
    """The key result reads like an activity or a to-do instead of an outcome.

    Fires on a leading activity verb in any inflection ("Launch", "Launched", "Hosting",
    "Set up"), on a count of things done ("5 case studies published"), and on a deliverable
    reported as done ("New rota published"). Outcome verbs ("raise", "reduce", "keep",
    "reach") never fire, and an ambiguous verb ("hold", "deliver", "run") with a target
    shape ("Hold churn below 2%", "Deliver 95% of orders on time") is an outcome.
    Rolled-up key results (``kind="objectives"``) never fire.
    """
    if (kind or "").lower() == "objectives":
        return Verdict(False, _("rolled up from child objectives"))
    p = parse(title)
    if p.leading_count:
        return Verdict(
            True,
            _(
                'counts things done ("%(leading_count)s") instead of an outcome',
                leading_count=p.leading_count,
            ),
        )
    decided = _grammar_task(title)
    if decided is not None:
        return decided
    verb = p.first_verb
    if verb is not None and (verb in ACTIVITY_VERBS or verb in PHRASAL_ACTIVITY):
        if verb in AMBIGUOUS_ACTIVITY:
            comparative = next((w for w in p.tokens[p.verb_end :] if w in COMPARATIVES), None)
            if comparative is not None and verb == "make":
                return Verdict(
                    False,
                    _(
                        '"make … %(comparative)s" describes a change, not a task',
                        comparative=comparative,
                    ),
                )
            if p.has_target_shape:
                return Verdict(
                    False, _('"%(verb)s" is followed by an outcome with a target', verb=verb)
                )
            head = _object_head(list(p.items), p.verb_end)
            counted = _is_measure(list(p.items), p.verb_end)  # "Run 12 sessions": a count
            if head is not None and _is_metric(head) and not counted:
                return Verdict(
                    False, _('"%(verb)s" applies to the metric "%(head)s"', verb=verb, head=head)
                )
        return Verdict(True, _('starts with the activity verb "%(verb)s"', verb=verb))
    if verb in OUTCOME_VERBS:
        return Verdict(False, _('starts with the outcome verb "%(verb)s"', verb=verb))
    if verb is None:
        done = _passive_deliverable(list(p.items))
        if done and not p.has_target_shape:
            return Verdict(True, _('reports a deliverable as done ("%(done)s")', done=done))
    return Verdict(False, _("no activity verb or count of things done"))


_INCREASING = ("increase", "decrease")
_GUARD = ("above", "below")


def _deliverable(p: Parsed) -> str | None:
    leads = p.first_verb in DELIVERABLE_VERBS or p.first_verb in PHRASAL_ACTIVITY
    if p.first_verb == "make" and any(w in COMPARATIVES for w in p.tokens):
        leads = False  # "Make the checkout faster" describes a change
    if leads and (p.first_verb not in AMBIGUOUS_ACTIVITY or not p.has_target_shape):
        return p.first_verb
    for w in p.tokens:
        if w in STATE_WORDS:
            return w
        if _is_participle(w) and lemma(w) in DELIVERABLE_VERBS:
            return w
    texts = list(p.tokens)
    for a, b in itertools.pairwise(texts):
        if (a, b) in (("in", "place"), ("signs", "off"), ("sign", "off"), ("go", "live")):
            return f"{a} {b}"
        if lemma(a) in ("approve", "agree", "adopt", "ratify", "sign") and b not in PREPOSITIONS:
            return a
    return None


def _direction(p: Parsed) -> str | None:
    if p.first_verb in DIRECTION_VERBS or p.first_verb in ("reach", "achieve", "hit"):
        return p.first_verb
    for i, w in enumerate(p.tokens):
        if w in COMPARATIVES:
            return w
        if lemma(w) in DIRECTION_VERBS and i > 0:
            return w
        if w in ("up", "down") and i > 0:
            prev = p.tokens[i - 1]
            if lemma(prev) in ("go", "come", "move", "trend") or _is_metric(prev):
                return f"{prev} {w}"
            if prev in QUALITY_WORDS:
                return f"{prev} {w}"
    return None


def kr_not_measurable(
    title: str,
    kind: str,
    start: float | None = None,
    target: float | None = None,
    language: str = "en",
) -> Verdict:
    """The key result has no number to measure.

    ``increase``/``decrease`` need a start and a target (and they must differ);
    ``above``/``below`` need a target. A ``milestone`` fires when its title describes a
    quantity that should be a number — a direction ("improve", "goes up", "fewer") or a
    metric word ("retention", "conversion") — and names no deliverable that can be done
    or not done ("launched", "approved", "live"). Rolled-up key results never fire.
    """
    kind = (kind or "").lower()
    if kind == "objectives":
        return Verdict(False, _("rolled up from child objectives"))
    if kind in _INCREASING:
        missing = [name for name, v in (("start", start), ("target", target)) if v is None]
        if missing:
            return Verdict(
                True,
                _(
                    "%(kind)s key result without a %(names)s value",
                    kind=kind,
                    names=_("start or target")
                    if len(missing) == 2
                    else (_("start") if missing == ["start"] else _("target")),
                ),
            )
        # Both present: `missing` is empty.
        assert start is not None
        assert target is not None
        if start == target:
            return Verdict(
                True,
                _(
                    "start and target are both %(start)s: nothing can move",
                    start=Number(start, "g"),
                ),
            )
        return Verdict(
            False,
            _(
                "measured from %(start)s to %(target)s",
                start=Number(start, "g"),
                target=Number(target, "g"),
            ),
        )
    if kind in _GUARD:
        if target is None:
            return Verdict(True, _('"%(kind)s" key result without a target value', kind=kind))
        return Verdict(False, _("kept %(kind)s %(target)s", kind=kind, target=Number(target, "g")))
    if kind == "milestone" and language == "de":
        return german.kr_not_measurable_milestone(title)
    p = parse(title)
    if kind == "milestone":
        done = _deliverable(p)
        if done is not None:
            return Verdict(
                False, _('names a deliverable that is done or not ("%(done)s")', done=done)
            )
        direction = _direction(p)
        quantity = [w for w in p.words if _is_metric(w) or w in QUALITY_WORDS]
        if p.has_target_shape and (direction or quantity):
            return Verdict(True, _("states a target number: use increase/decrease/above/below"))
        if direction:
            return Verdict(
                True, _('describes a change ("%(direction)s") with no number', direction=direction)
            )
        if quantity:
            return Verdict(
                True, _("names a quantity (%(words)s) with no number", words=_quote(quantity))
            )
        return Verdict(False, _("a done-or-not milestone"))
    if start is None and target is None and not p.measures:
        return Verdict(True, _("no number to measure"))
    return Verdict(False, _("has a number"))


# --------------------------------------------------------------------------- by language


def objective_is_metric(title: str, language: str = "en") -> Verdict:
    """The objective reads like a KPI target rather than a qualitative change."""
    if language == "de":
        return german.objective_is_metric(title)
    return _english_objective_is_metric(title)


def objective_vague(title: str, language: str = "en") -> Verdict:
    """The objective is too vague to steer by."""
    if language == "de":
        return german.objective_vague(title)
    return _english_objective_vague(title)


def kr_is_task(title: str, kind: str | None = None, language: str = "en") -> Verdict:
    """The key result reads like an activity or a to-do instead of an outcome.

    Rolled-up key results (``kind="objectives"``) never fire.
    """
    if (kind or "").lower() == "objectives":
        return Verdict(False, _("rolled up from child objectives"))
    if language == "de":
        return german.kr_is_task(title)
    return _english_kr_is_task(title, kind)
