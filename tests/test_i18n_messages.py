"""Refusals and validation messages of the actions speak the reader's language.

Every sentence an action gives a person (a `why_not_*` predicate's answer, a refusal, a
field error) goes through gettext, so a German or French reader sees it in their language
on the page, and English stays word for word what it was.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from django.utils import translation

from headway.okrs.models import Objective
from headway.web.testing import build_okrs, client_for, current_cycle
from tests.code_scan import SOURCES, bare_english, called, project_calls

ACTIONS = sorted((Path(__file__).resolve().parents[1] / "src" / "headway").glob("*/actions.py"))


def _sentence(node: ast.AST) -> str | None:
    """The text of a literal or f-string that reads as a sentence for a person, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
    else:
        return None
    words = text.split()
    return text if text[:1].isupper() and len(words) >= 3 else None


def _said(node: ast.AST) -> list[ast.AST]:
    """The string nodes that become the message: dict values, list items, both branches."""
    if isinstance(node, ast.Dict):
        return [n for v in node.values if v is not None for n in _said(v)]
    if isinstance(node, ast.List | ast.Tuple):
        return [n for v in node.elts for n in _said(v)]
    if isinstance(node, ast.IfExp):
        return _said(node.body) + _said(node.orelse)
    return [node]


def unmarked_messages(source: str) -> list[tuple[int, str]]:
    """Sentences returned by `why_not_*`, raised as ValidationError/…Refused, or stored
    into `errors[...]`, that are not wrapped in gettext."""
    tree = ast.parse(source)
    candidates: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("why_not"):
            candidates += [
                n
                for r in ast.walk(node)
                if isinstance(r, ast.Return) and r.value is not None
                for n in _said(r.value)
            ]
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            func = node.exc.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name.endswith(("Error", "Refused")):
                candidates += [n for a in node.exc.args for n in _said(a)]
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Subscript)
            and isinstance(t.value, ast.Name)
            and t.value.id == "errors"
            for t in node.targets
        ):
            candidates += _said(node.value)
    found = []
    for node in candidates:
        if (text := _sentence(node)) is not None:
            found.append((getattr(node, "lineno", 0), text))
    return found


def test_every_refusal_and_field_error_of_the_actions_is_marked_for_translation() -> None:
    assert len(ACTIONS) >= 8
    left = {
        f"{path.parent.name}/actions.py:{line}": text
        for path in ACTIONS
        for line, text in unmarked_messages(path.read_text())
    }
    assert not left, f"wrap these in gettext (then `make messages`): {left}"


def test_the_scan_finds_unmarked_messages() -> None:
    source = """
def why_not_edit(access):
    return None if access.ok else "Only leads may edit this."

def clean(value):
    errors = {}
    errors["title"] = f"The title {value!r} is taken."
    if not value:
        raise ValidationError({"title": "Enter a title first."})
    raise ValidationError(_("Already marked, so fine."))
"""
    assert [text for _line, text in unmarked_messages(source)] == [
        "Only leads may edit this.",
        "The title  is taken.",
        "Enter a title first.",
    ]


def test_a_refusal_reads_in_the_readers_language(org: Any) -> None:
    """A member may not align an objective: the form says so in German and French, and
    nothing is created in either language."""
    current_cycle(org.cycle)
    root = build_okrs(
        cycle=org.cycle, company=org.company, team=org.depot, owner=org.member, objectives=1
    )[0]
    form = {
        "title": "Aligned depot objective",
        "team": org.depot.pk,
        "cycle": org.cycle.pk,
        "type": "aspirational",
        "visibility": "public",
        "parent": root.pk,
    }
    said = {
        "en": "Only leads and admins of the team may align an objective.",
        "de": "Nur Leitungen und Admins des Teams dürfen ein Ziel ausrichten.",
        "fr": "Seuls les responsables et admins de l'équipe peuvent aligner un objectif.",
    }
    try:
        for language, text in said.items():
            org.member.language = language
            org.member.save(update_fields=["language"])
            refused = client_for(org.member).post("/objectives/new/", form)
            assert refused.status_code == 200
            assert refused["Content-Language"] == language
            page = refused.content.decode().replace("&#x27;", "'")  # as the template escapes
            assert text in page, language
    finally:
        translation.activate("en")  # the request left its reader's language active
    assert not Objective.objects.filter(title="Aligned depot objective").exists()


def test_the_api_says_a_refusal_in_the_requested_language(org: Any) -> None:
    """A token is no signed-in session: the API's messages follow the request's
    Accept-Language (else the organisation's default); its error codes never change."""
    from headway.api.testing import ApiClient, token_for

    client = ApiClient(token_for(org.outsider))
    body = {"key": "new", "cycle": org.cycle.key, "team": org.depot.key, "title": "New"}
    try:
        english = client.post("/objectives", body)
        german = client.post("/objectives", body, headers={"Accept-Language": "de"})
    finally:
        translation.activate("en")
    assert english.status_code == german.status_code == 403
    assert english.json()["error"]["code"] == german.json()["error"]["code"]
    assert (
        english.json()["error"]["message"]
        == "Only members of Depot North may create its objectives."
    )
    assert (
        german.json()["error"]["message"]
        == "Nur Mitglieder von Depot North dürfen dessen Ziele anlegen."
    )
    assert not Objective.objects.filter(key="new").exists()


FLASHES = {"success", "error", "info", "warning"}


def test_every_message_a_page_flashes_is_marked_for_translation() -> None:
    """`messages.success(request, …)` and its kind say what happened to a reader: through
    gettext (or an action's own translated words), never as bare English."""
    found = [
        f"{path.name}:{call.lineno}"
        for path, call in project_calls()
        if isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "messages"
        and call.func.attr in FLASHES
        and len(call.args) >= 2
        and bare_english(call.args[1])
    ]
    assert not found, f"flash messages not marked for translation: {found}"


#: Where a form or an action words an error for a page (the API, the command line and the
#: YAML tools speak English to programs and CI logs, docs/operations.md).
FOR_PAGES = ("/web/", "/views.py", "/forms.py", "/models.py", "/actions.py", "/access.py")


def test_every_form_error_a_page_shows_is_marked_for_translation() -> None:
    """`form.add_error(field, …)` and `ValidationError(…)` go through gettext on the pages."""
    found = []
    for path, call in project_calls():
        if not str(path).endswith(FOR_PAGES) and "/web/" not in str(path):
            continue
        name = called(call)
        said = (
            call.args[1:2]
            if name == "add_error"
            else call.args[:1]
            if name == "ValidationError"
            else []
        )
        found += [f"{path.name}:{call.lineno}" for node in said if bare_english(node)]
    assert not found, f"form errors not marked for translation: {found}"


def test_every_label_and_help_text_is_marked_for_translation() -> None:
    """A field's label and help text (keyword, a form's Meta, or set later) are words of
    the pages: through gettext_lazy, never bare English (migrations keep what they had)."""
    found = []
    for path in sorted(SOURCES.rglob("*.py")):
        if {"api", "document", "migrations"} & set(path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            said: list[ast.expr] = []
            if isinstance(node, ast.Call):
                said += [k.value for k in node.keywords if k.arg in {"help_text", "label"}]
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id in {"help_texts", "labels"}:
                        if isinstance(node.value, ast.Dict):
                            said += [v for v in node.value.values if v is not None]
                    elif isinstance(target, ast.Attribute) and target.attr in {"help_text"}:
                        said.append(node.value)
            found += [
                f"{path.name}:{n.lineno}"
                for n in said
                if bare_english(n) and not (isinstance(n, ast.Constant) and n.value in ("", None))
            ]
    assert not found, f"labels or help texts not marked for translation: {found}"
