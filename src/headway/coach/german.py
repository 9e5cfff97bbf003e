"""The wording judges for German titles, read from HanTa's part-of-speech tags.

German puts the verb of a title at its end ("Neue Kasse einführen"), after "wir" ("Wir
führen die neue Kasse ein"), or turns it into a noun ("Einführung der neuen Kasse"); a
result reads as a participle ("Pakete am selben Tag zugestellt"). So the judges find the
title's predicate (:func:`_predicate`) and decide by its lemma and form, and by the head
of the compound that names what is measured ("Kündigungs*quote*", "Kunden*bindung*").
Numbers use German spelling (1.200; 99,95; 8 Mio. €; 12 %).
"""

from __future__ import annotations

from dataclasses import dataclass

from headway.coach.grammar import Word, analyse, participle_verb
from headway.coach.verdict import Verdict, _, quote


def _w(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Verbs of doing: a key result whose predicate is one of these describes work.
ACTIVITY = _w(
    """
    einführen durchführen erstellen schreiben organisieren veröffentlichen einrichten gestalten
    abschließen installieren führen finalisieren kommunizieren umsetzen verschicken versenden
    prüfen aktualisieren testen besuchen starten migrieren umstellen schulen einstellen planen
    dokumentieren implementieren digitalisieren aufbauen drehen entwickeln launchen ausrollen
    erarbeiten definieren konzipieren beauftragen ausschreiben vorbereiten erstellen anlegen
    bauen programmieren liefern versenden verteilen präsentieren produzieren aufnehmen
    übersetzen beschaffen kaufen einkaufen anschaffen austauschen ersetzen modernisieren
    überarbeiten neugestalten abhalten veranstalten moderieren auditieren analysieren
    evaluieren erheben befragen interviewen kontaktieren anrufen posten bloggen erfassen
    freigeben verabschieden unterzeichnen zertifizieren beschließen fertigstellen verfassen
    konfigurieren automatisieren integrieren ausbilden rekrutieren anwerben einarbeiten
    onboarden beraten vorstellen bewerben mailen drucken verfilmen vereinbaren
    """
)
# Nouns made from verbs of doing: "Einführung der neuen Kasse".
ACTIVITY_NOUNS = _w(
    """
    einführung durchführung erstellung umsetzung entwicklung implementierung migration
    umstellung schulung veröffentlichung aufbau rollout roll-out abschluss fertigstellung
    planung installation digitalisierung organisation konzeption erarbeitung überarbeitung
    neugestaltung gestaltung ausrollung bereitstellung einrichtung realisierung durchsetzung
    erstellung beschaffung anschaffung modernisierung einarbeitung onboarding launch start
    livegang go-live
    """
)
# Verbs that move a quantity: a key result led by one of these is an outcome.
OUTCOME = _w(
    """
    steigern erhöhen senken reduzieren verringern halbieren verdoppeln verdreifachen
    vervierfachen erreichen gewinnen halten verkürzen ausbauen heben anheben bringen verkaufen
    sichern verbessern binden steigen sinken fallen wachsen zurückgewinnen minimieren
    maximieren beschleunigen vermeiden verhindern behalten stabilisieren
    """
)
DIRECTION = _w(
    """
    steigern erhöhen senken reduzieren verringern halbieren verdoppeln verdreifachen
    vervierfachen verkürzen heben anheben minimieren maximieren beschleunigen steigen sinken
    fallen
    """
)
MULTIPLIERS = _w("halbieren verdoppeln verdreifachen vervierfachen")
MULTIPLIER_NOUNS = _w("halbierung verdopplung verdoppelung verdreifachung vervierfachung")
DIRECTION_NOUNS = _w(
    "steigerung erhöhung senkung reduzierung reduktion verringerung verkürzung anhebung"
)
# Verbs that reach a count: "2.000 neue Mitglieder gewinnen", "50.000 Leser erreichen".
COUNT_TARGET_VERBS = _w("erreichen verkaufen gewinnen anwerben werben")
POPULATION = _w(
    """
    kunden kundinnen mitglieder leser leserinnen nutzer nutzerinnen abonnenten abonnentinnen
    spender spenderinnen besucher besucherinnen haushalte teilnehmer teilnehmerinnen
    fans follower käufer gäste patienten schüler studierende tickets karten dauerkarten
    abos verträge downloads installationen bestellungen buchungen anmeldungen
    """
)
# The heads of compounds that name a measured quantity.
METRIC_HEADS = (
    "quote", "rate", "kosten", "zeit", "zeiten", "umsatz", "umsätze", "fluktuation", "anteil",
    "spenden", "abfälle", "abfall", "marge", "gewinn", "ertrag", "erträge", "score", "wert",
    "dauer", "churn", "conversion", "genauigkeit", "verfügbarkeit", "auslastung", "rückstand",
    "emissionen", "verbrauch", "beitrag", "zufriedenheit", "bindung", "tage", "ausfälle",
    "fehler", "beschwerden", "reklamationen", "retouren", "unfälle", "stürze", "anzahl",
    "zahl", "volumen", "reichweite", "nps", "bestellwert", "warenkorb", "buchungen",
    "anmeldungen", "absprungrate", "traffic", "wartezeit", "wartezeiten", "lieferzeit",
)  # fmt: skip
QUALITIES = _w(
    """
    zufriedenheit bindung qualität effizienz produktivität engagement motivation sicherheit
    zuverlässigkeit pünktlichkeit loyalität vertrauen gesundheit stimmung
    """
)
# Words that make a participle a service level: "am selben Tag zugestellt".
CONDITIONS = _w(
    """
    innerhalb binnen pünktlich rechtzeitig ohne fehlerfrei beim ersten selben gleichen bis
    sofort vollständig korrekt fristgerecht termingerecht warm unbeschädigt erstmals
    """
)
GENERIC = _w(
    """
    prozesse prozess wachstum exzellenz qualität level niveau marke branche zusammenarbeit
    marktführer it kundenservice service weltklasse-niveau weltklasse digitalisierung geschäft
    effizienz arbeitgeber abläufe ablauf partner konkurrenz wettbewerb unternehmen firma
    kultur innovation kundenerlebnis erlebnis ergebnisse ergebnis systeme system reporting
    arbeitsabläufe arbeitsweise performance leistung produkte produkt dienstleistungen
    strategie organisation team teams mitarbeitende mitarbeiter kunden markt märkte zukunft
    erfolg besten beste bester bessere besseres besser attraktiver attraktiv bevorzugte
    bevorzugter operative operativen nächste nächsten gut gute großartige großartig
    innovativer innovativ agiler agil relevant weiter noch ganzen ganze allem alles allen
    überall wirklich führend sichtbarkeit präsenz image ruf stärke werte vision mission
    voraus vorne spitze berichtswesen zukunft gemeinsam potenzial wettbewerbsfähigkeit
    marktposition führung nummer eins kundenorientierung kundenfokus schlagkraft dynamik
    smart schlank schneller effizienter erfolgreich erfolgreicher weg strukturen
    agilität transformation innovationskraft arbeitsabläufen ergebnissen prozessen
    unternehmens geschäfts kunde wettbewerbs ausbau mittelpunkt zentrum fokus synergien
    synergie wert mehrwert position profil servicequalität nachhaltig professioneller
    professionell zukunftsfähig zukunftsfähiger schlagkräftiger schlagkräftig vertrieb
    starker stark starke partnerin kundinnen
    """
)
GENERIC_VERBS = _w(
    """
    verbessern optimieren stärken vorantreiben transformieren modernisieren steigern liefern
    werden sein bleiben wachsen ausbauen heben bringen fördern voranbringen weiterentwickeln
    entwickeln gestalten leben erreichen schaffen sichern
    """
)
PURE_VAGUE = _w("verbessern optimieren stärken modernisieren weiterentwickeln vorantreiben")
# Broad heads and modifiers of compounds: "Service|qualität", "Prozess|effizienz".
GENERIC_HEADS = (
    "qualität", "effizienz", "zufriedenheit", "exzellenz", "orientierung", "kultur",
    "prozesse", "prozess", "strategie", "leistung", "performance", "erlebnis", "präsenz",
    "position", "stärke", "kompetenz", "fähigkeit", "wert", "werte", "erfolg",
)  # fmt: skip
GENERIC_MODIFIERS = _w(
    """
    prozess service kunden mitarbeiter markt unternehmen geschäft team marken arbeit
    qualität organisation dienstleistung produkt vertrieb innovation führung
    """
)
# Prepositions and conjunctions that make an objective concrete: for whom, where, why.
QUALIFIERS = _w("für damit sodass dass wenn auf in bei zwischen ohne statt mit an")
SUBJECT_PRONOUNS = _w("wir ich")
SPELLED = {
    "null": 0, "eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
    "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "zwanzig": 20,
    "dreißig": 30, "vierzig": 40, "fünfzig": 50, "hundert": 100, "tausend": 1000,
}  # fmt: skip
SCALE = _w("mio mio. millionen million mrd mrd. milliarden tsd tausend")
CURRENCY = _w("€ euro eur chf $ £ franken dollar")
ID_BEFORE = _w(
    """
    iso din en linie version stufe klasse jahrgang level phase welle generation typ modell
    gate halle gebäude werk standort filiale raum station etage q kw paragraph artikel
    """
)
MONTHS = _w("januar februar märz april mai juni juli august september oktober november dezember")
TIME_UNITS = _w("tag tage tagen woche wochen monat monaten jahr jahren stunde stunden")


@dataclass(frozen=True, slots=True)
class _Number:
    index: int
    text: str
    percent: bool
    currency: bool
    role: str  # "measure", "id", "date", "scope"


def _numbers(words: tuple[Word, ...]) -> list[_Number]:
    out: list[_Number] = []
    for i, w in enumerate(words):
        spelled = w.lower in SPELLED and w.pos in ("NUM", "DET", "ADJ", "NOUN")
        if w.pos != "NUM" and not spelled and not w.text[:1].isdigit():
            continue
        before = words[i - 1].lower if i > 0 else ""
        after = [x.lower for x in words[i + 1 : i + 4]]
        percent = bool(after) and (after[0] in ("%", "prozent", "prozentpunkte"))
        currency = any(a in CURRENCY for a in after[:3]) or before in CURRENCY
        digits = w.text.replace(".", "").replace(",", "")
        if (
            before in ID_BEFORE
            or (i + 1 < len(words) and words[i + 1].text == "/")
            or (before == "/" and i > 1 and words[i - 2].text == "24")
        ):
            role = "id"
        elif (
            digits.isdigit()
            and len(digits) == 4
            and 1990 <= int(digits) <= 2100
            and "." not in w.text
        ) or (after and (after[0] in MONTHS or before in MONTHS)):
            role = "date"
        elif w.text[:1].isdigit() and after[:1] == ["-"]:
            role = "scope"
        elif before in ("den", "die", "unsere", "unserer", "allen", "alle", "jedes", "ersten"):
            role = "scope" if not (percent or currency) else "measure"
        elif before in ("an", "in", "nach", "seit") and after and after[0] in TIME_UNITS:
            role = "scope"
        else:
            role = "measure"
        out.append(_Number(i, w.text, percent, currency, role))
    return out


def _measures(words: tuple[Word, ...]) -> list[_Number]:
    return [n for n in _numbers(words) if n.role == "measure"]


def _is_measure_at(words: tuple[Word, ...], i: int, span: int = 3) -> bool:
    idx = {n.index for n in _measures(words)}
    return any(j in idx for j in range(i, min(i + span, len(words))))


def _target_shape(words: tuple[Word, ...]) -> str | None:
    """ "von X auf Y", "um N", "auf N", "unter N", "mindestens N": a number to reach."""
    lows = [w.lower for w in words]
    for i, low in enumerate(lows):
        later = enumerate(lows[i + 2 : i + 8], start=i + 2)
        if (
            low == "von"
            and _is_measure_at(words, i + 1)
            and any(x in ("auf", "bis") and _is_measure_at(words, j + 1) for j, x in later)
        ):
            return "von … auf …"
        fraction = lows[i + 1 : i + 3] in (
            ["ein", "drittel"],
            ["die", "hälfte"],
            ["ein", "viertel"],
        )
        if low == "um" and (_is_measure_at(words, i + 1, 2) or fraction):
            return f"um {words[i + 1].text}"
        if low in ("auf", "unter", "über", "mindestens", "höchstens", "maximal", "bei", "bis"):
            j = i + 1
            while j < len(lows) and lows[j] in ("unter", "über", "mindestens", "höchstens", "zu"):
                j += 1
            if _is_measure_at(words, j, 1):
                return f"{low} {words[j].text}"
    return None


def _head(noun: str) -> str:
    """The compound's head that names a metric ("kündigungsquote" → "quote"), or ""."""
    low = noun.lower()
    for head in METRIC_HEADS:
        if low == head or low.endswith(head) or low.endswith("-" + head):
            return head
    return ""


@dataclass(frozen=True, slots=True)
class _Predicate:
    word: Word
    lemma: str
    form: str  # "infinitive", "finite" (after wir), "subject" (a noun acts), "participle", "noun"


def _clause(words: tuple[Word, ...]) -> tuple[Word, ...]:
    """The main clause: up to the first comma (a relative clause follows it)."""
    for i, w in enumerate(words):
        if w.text == ",":
            return words[:i]
    return words


def _predicate(words: tuple[Word, ...]) -> _Predicate | None:
    main = _clause(words)
    if not main:
        return None
    first = main[0]
    if first.pos == "NOUN" and (first.lower in ACTIVITY_NOUNS or first.lower in DIRECTION_NOUNS
                                or first.lower in MULTIPLIER_NOUNS):  # fmt: skip
        return _Predicate(first, first.lower, "noun")
    pronoun = any(w.lower in SUBJECT_PRONOUNS for w in main[:2])
    particle = next((w.lower for w in reversed(main) if w.pos == "PRT" and w.tag == "PTKVZ"), "")
    verbs = [w for w in main if w.is_verb or (w.pos == "AUX" and w.lemma in ("werden", "sein"))]
    if not verbs:
        return None
    if pronoun:
        verb = verbs[0]
        lemma = (
            particle + verb.lemma
            if particle and not verb.lemma.startswith(particle)
            else verb.lemma
        )
        return _Predicate(verb, lemma, "finite")
    verb = verbs[-1]
    if verb.pos == "AUX" and verb.lemma in ("werden", "sein", "bleiben") and len(verbs) > 1:
        verb = verbs[-2] if verbs[-2].pos != "AUX" else verb
    low = verb.lower
    # "Der Vorstand genehmigt …", "Der Umsatz steigt": a subject acts, unless the word is
    # a participle reporting a result ("… beantwortet von 61 %").
    if (
        verb.pos == "FIN"
        and main[0].pos in ("DET", "NOUN", "PROPN", "ADJ")
        and not low.endswith("en")
        and not _participle_position(main, verb)
    ):
        return _Predicate(verb, verb.lemma, "subject")
    if verb.pos == "PART" or (verb.pos == "FIN" and low.endswith("t")):
        return _Predicate(verb, verb.lemma, "participle")
    at = main.index(verb)
    if (
        verb.pos == "FIN"
        and main[0].pos in ("DET", "NOUN", "PROPN")
        and low.endswith("en")
        and at != len(main) - 1
        and at < 3
    ):
        return _Predicate(verb, verb.lemma, "subject")  # "Alle Filialen akzeptieren …"
    return _Predicate(verb, verb.lemma, "infinitive")


def _participle_position(main: tuple[Word, ...], verb: Word) -> bool:
    """A verb at the clause's end, or right before the numbers that measure it."""
    i = main.index(verb)
    rest = main[i + 1 :]
    return not rest or rest[0].lower in ("von", "über", "unter", "auf", "bei", "zu", "%")


def _condition(words: tuple[Word, ...], until: int) -> str | None:
    for w in words[:until]:
        if w.lower in CONDITIONS:
            return w.text
    return None


def _noun_phrase(words: tuple[Word, ...], start: int) -> list[Word]:
    out = []
    for w in words[start:]:
        if w.pos in ("ADP", "CONJ", "SYM") or w.is_verb or w.pos == "AUX":
            break
        out.append(w)
    return out


# --------------------------------------------------------------------------- judges


def kr_is_task(title: str) -> Verdict:
    words = analyse(title, "de")
    p = _predicate(words)
    lows = [w.lower for w in words]
    if lows[:1] in (["anzahl"], ["zahl"]) or lows[:2] in (["anzahl", "der"], ["zahl", "der"]):
        for w in words[1:5]:
            verb = participle_verb(w.text, "de") if w.pos in ("ADJ", "PART", "FIN") else ""
            if verb in ACTIVITY:
                return Verdict(
                    True,
                    _(
                        'counts outputs ("%(text)s %(text2)s"), not an outcome',
                        text=words[0].text,
                        text2=w.text,
                    ),
                )
    if p is None:
        for w in words[:3]:
            verb = participle_verb(w.text, "de") if w.pos == "ADJ" else ""
            if verb in ACTIVITY and not _condition(words, len(words)):
                return Verdict(
                    True, _('counts outputs ("%(text)s" from "%(verb)s")', text=w.text, verb=verb)
                )
        return Verdict(False, _("no verb of doing"))
    if p.form == "noun":
        if p.lemma in ACTIVITY_NOUNS:
            return Verdict(
                True, _('names an activity ("%(text)s") instead of its effect', text=p.word.text)
            )
        return Verdict(False, _('"%(text)s" names a change in a quantity', text=p.word.text))
    if p.form == "subject":
        return Verdict(
            False, _('"%(text)s" says what someone else does or what happens', text=p.word.text)
        )
    if p.form == "participle":
        cond = _condition(words, words.index(p.word))
        if cond is not None:
            return Verdict(
                False,
                _(
                    '"%(text)s" with "%(cond)s" measures a service level',
                    text=p.word.text,
                    cond=cond,
                ),
            )
        if p.lemma in ACTIVITY:
            return Verdict(
                True, _('reports work done ("%(text)s") instead of an outcome', text=p.word.text)
            )
        return Verdict(False, _('"%(text)s" reports a result', text=p.word.text))
    if (p.lemma in OUTCOME and p.lemma not in ("halten", "bringen")) or p.lemma in DIRECTION:
        object_words = [w for w in words if w.pos in ("ADJ", "FIN", "PART")]
        for w in object_words:
            verb = participle_verb(w.text, "de")
            if verb in ACTIVITY and lows[:1] in (["anzahl"], ["zahl"]):
                return Verdict(True, _('counts outputs ("%(text)s"), not an outcome', text=w.text))
        return Verdict(False, _('"%(text)s" moves a quantity', text=p.word.text))
    if p.lemma in ("halten", "bringen") and (_target_shape(words) or _measures(words)):
        return Verdict(False, _('"%(text)s" keeps a quantity at a target', text=p.word.text))
    if p.lemma in ACTIVITY or (p.form == "finite" and p.lemma not in OUTCOME):
        return Verdict(
            True, _('the verb "%(text)s" describes work, not its effect', text=p.word.text)
        )
    return Verdict(False, _('"%(text)s" is no verb of doing', text=p.word.text))


def objective_is_metric(title: str) -> Verdict:
    words = analyse(title, "de")
    shape = _target_shape(words)
    if shape is not None:
        return Verdict(True, _('asks to reach a number ("%(shape)s")', shape=shape))
    p = _predicate(words)
    measures = _measures(words)
    for n in measures:
        if n.percent:
            return Verdict(True, _('asks for a percentage ("%(text)s %%")', text=n.text))
    lemma = p.lemma if p else ""
    if p is not None and (lemma in MULTIPLIERS or lemma in MULTIPLIER_NOUNS):
        return Verdict(True, _('asks to multiply a quantity ("%(text)s")', text=p.word.text))
    if measures and lemma in COUNT_TARGET_VERBS | DIRECTION:
        n = measures[0]
        counted = _noun_phrase(words, n.index + 1)
        heads = [w.lower for w in counted if w.pos == "NOUN"]
        if n.currency or lemma != "gewinnen" or any(h in POPULATION for h in heads):
            return Verdict(
                True,
                _(
                    'asks "%(value)s" for the number "%(text)s"',
                    value=p.word.text if p else "",
                    text=n.text,
                ),
            )
    if p is not None and (lemma in DIRECTION or lemma in DIRECTION_NOUNS):
        for w in words:
            if w.pos == "NOUN" and w is not p.word and _head(w.text):
                return Verdict(
                    True,
                    _('asks to "%(text)s" the metric "%(text2)s"', text=p.word.text, text2=w.text),
                )
    return Verdict(False, _("no number to reach and no metric to move: a qualitative change"))


def _generic_noun(word: Word) -> bool:
    """A broad noun, alone or as the head of a compound of broad parts ("Servicequalität")."""
    low = word.lower
    if low in GENERIC or word.lemma in GENERIC:
        return True
    for head in GENERIC_HEADS:
        if low.endswith(head) and len(low) > len(head):
            modifier = low[: -len(head)].rstrip("-")
            forms = {modifier, modifier.removesuffix("s"), modifier.removesuffix("n")}
            if forms & (GENERIC_MODIFIERS | GENERIC):
                return True
    return False


def objective_vague(title: str) -> Verdict:
    """Vague when no noun names something specific: every noun is broad, or there is none.

    A number, a clause ("…, damit …", "…, die …") or a specific noun makes it concrete;
    a purely generic verb ("verbessern", "optimieren") with a bare object of one or two
    nouns and nothing saying for whom or where is vague all the same ("Kundenbindung
    verbessern").
    """
    words = analyse(title, "de")
    if _measures(words):
        return Verdict(False, _("states a number, so the change is concrete"))
    main = _clause(words)
    if len(main) < len(words):
        return Verdict(False, _('says more in a clause ("%(text)s …")', text=words[len(main)].text))
    p = _predicate(words)
    verb_word = p.word if p else None
    nouns = [w for w in words if w.pos in ("NOUN", "PROPN") and w is not verb_word]
    specific = [w for w in nouns if not _generic_noun(w)]
    verb = p.word.text if p else None
    label = (
        _('generic verb "%(verb)s"', verb=verb)
        if verb and p and p.lemma in GENERIC_VERBS
        else (_('the verb "%(verb)s"', verb=verb) if verb else _("no verb"))
    )
    if not specific:
        broad = [w.text for w in words if w.pos in ("NOUN", "PROPN", "ADJ", "ADV")]
        shown = broad or [verb or title]
        return Verdict(
            True, _("%(label)s with only broad words (%(words)s)", label=label, words=quote(shown))
        )
    if p is not None and p.lemma in PURE_VAGUE:
        qualifier = next((w for w in words if w.lower in QUALIFIERS), None)
        if qualifier is None and len(specific) <= 2:
            return Verdict(
                True,
                _(
                    "%(label)s with a bare object (%(words)s)",
                    label=label,
                    words=quote(w.text for w in specific),
                ),
            )
    return Verdict(
        False, _("names a concrete subject (%(words)s)", words=quote(w.text for w in specific))
    )


def kr_not_measurable_milestone(title: str) -> Verdict:
    words = analyse(title, "de")
    task = kr_is_task(title)
    if task.fires:
        return Verdict(False, _("names a deliverable that is done or not"))
    p = _predicate(words)
    if p is not None and p.form == "subject" and p.lemma not in DIRECTION | {"verbessern"}:
        return Verdict(
            False, _('names an event that happens or not ("%(text)s")', text=p.word.text)
        )
    if p is not None and (p.lemma in DIRECTION or p.lemma in ("verbessern", "steigern")):
        return Verdict(True, _('describes a change ("%(text)s") with no number', text=p.word.text))
    for w in words:
        if (w.pos == "ADJ" and w.lower[:-1].endswith("er")) or w.lower in ("weniger", "mehr"):
            return Verdict(True, _('describes a change ("%(text)s") with no number', text=w.text))
    quantity = [
        w.text for w in words if w.pos == "NOUN" and (_head(w.text) or w.lower in QUALITIES)
    ]
    if quantity:
        return Verdict(
            True, _("names a quantity (%(words)s) with no number", words=quote(quantity))
        )
    return Verdict(False, _("a done-or-not milestone"))
