"""The admin's spreadsheet import: upload → columns → preview → confirm.

The upload is kept in the data folder under a random token that only the uploader's
session knows, until it is imported or a day has passed. The columns are guessed from the
headers and shown as a form; the preview is a dry run of the very import that writes
(`document.sheet_import`), listing what will be created and every bad row with its line;
nothing is written until the admin confirms a preview without problems.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from headway.document.importer import ImportResult
from headway.document.load import DocumentError
from headway.document.sheet_import import import_sheet, preview_sheet, why_not_import
from headway.document.spreadsheet import (
    FIELDS,
    SPREADSHEET_SUFFIXES,
    ColumnMapping,
    Sheet,
    SheetError,
    guess_mapping,
    read_sheet_bytes,
)
from headway.okrs.models import Cycle
from headway.speech import spoken
from headway.teams.access import refuse
from headway.web.common import SECTION_LABELS, access, person

#: Largest upload taken (a sheet is read into memory to be checked).
MAX_UPLOAD = 20 * 1024 * 1024
KEEP_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,60}$")
SESSION_KEY = "headway-imports"


def _folder() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _require_admin(request: HttpRequest) -> None:
    refuse(why_not_import(access(request)))


def _forget_old() -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in _folder().glob("*.upload"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def _upload(request: HttpRequest, token: str) -> tuple[Path, dict[str, Any]]:
    """The stored upload of this session's ``token`` (404 for anyone else's)."""
    known: dict[str, Any] = request.session.get(SESSION_KEY, {})
    if not _TOKEN.match(token) or token not in known:
        raise Http404("No such upload: upload the file again.")
    path = _folder() / f"{token}.upload"
    if not path.exists():
        raise Http404("This upload has expired: upload the file again.")
    return path, known[token]


def _read(path: Path, meta: dict[str, Any]) -> Sheet:
    return read_sheet_bytes(path.read_bytes(), meta["name"], sheet=meta.get("sheet") or None)


@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Step 1: choose a CSV or XLSX file."""
    _require_admin(request)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        sheet_name = request.POST.get("sheet", "").strip()
        if upload is None:
            error = gettext("Choose a CSV or XLSX file.")
        elif upload.size is not None and upload.size > MAX_UPLOAD:
            error = gettext("The file is larger than %(megabytes)s MB: split it.") % {
                "megabytes": MAX_UPLOAD // (1024 * 1024)
            }
        elif Path(upload.name or "").suffix.lower() not in SPREADSHEET_SUFFIXES:
            error = gettext("Headway reads CSV and XLSX files (.csv, .tsv, .xlsx, .xlsm).")
        else:
            data = upload.read()
            try:
                read_sheet_bytes(data, upload.name or "upload.csv", sheet=sheet_name or None)
            except SheetError as exc:
                error = spoken(exc.args[0])
            else:
                _forget_old()
                token = secrets.token_urlsafe(24)
                (_folder() / f"{token}.upload").write_bytes(data)
                known = dict(request.session.get(SESSION_KEY, {}))
                known[token] = {"name": Path(upload.name or "upload.csv").name, "sheet": sheet_name}
                request.session[SESSION_KEY] = known
                return redirect("import_sheet", token=token)
    return render(request, "web/import.html", {"step": "upload", "error": error})


def _mapping_from(request: HttpRequest, sheet: Sheet, guessed: ColumnMapping) -> ColumnMapping:
    """The columns chosen in the form (``col-<field>``: a column number, or empty)."""
    columns: dict[str, int] = {}
    for spec in FIELDS[guessed.kind]:
        raw = request.POST.get(f"col-{spec.id}", "")
        if raw.isdigit() and int(raw) < len(sheet.headers):
            columns[spec.id] = int(raw)
    used = set(columns.values())
    checkins = [(c, at) for c, at in guessed.checkin_columns if c not in used]
    if request.POST.get("checkins") != "1":
        checkins = []
    return ColumnMapping(guessed.kind, columns, checkins, {k: "chosen" for k in columns})


@require_http_methods(["GET", "POST"])
def import_sheet_view(request: HttpRequest, token: str) -> HttpResponse:
    """Steps 2-4: the columns, the preview with every bad row, and the confirmed import."""
    _require_admin(request)
    path, meta = _upload(request, token)
    try:
        sheet = _read(path, meta)
    except SheetError as exc:
        raise Http404(spoken(exc.args[0])) from None
    kind = request.POST.get("kind") or request.GET.get("kind") or ""
    guessed = guess_mapping(sheet.headers, "kpis" if kind == "kpis" else "okrs" if kind else None)
    mapping = _mapping_from(request, sheet, guessed) if request.method == "POST" else guessed
    cycle = (request.POST.get("cycle") or "").strip() or None
    action = request.POST.get("action", "")
    preview = None
    if request.method == "POST" and action in ("preview", "import"):
        preview = preview_sheet(sheet, mapping, cycle=cycle)
        if action == "import" and preview.ok:
            try:
                result = import_sheet(sheet, mapping, by=person(request), cycle=cycle)
            except DocumentError as exc:  # the database moved since the preview
                preview.problems = exc.errors
            else:
                path.unlink(missing_ok=True)
                known = dict(request.session.get(SESSION_KEY, {}))
                known.pop(token, None)
                request.session[SESSION_KEY] = known
                messages.success(request, _imported(meta["name"], result))
                if mapping.kind == "kpis":
                    return redirect("kpis")
                return redirect("cycles")
    columns = [(i, header) for i, header in enumerate(sheet.headers)]
    fields = [
        {
            "spec": spec,
            "chosen": mapping.columns.get(spec.id),
            "how": mapping.how.get(spec.id, ""),
            "samples": [
                str(value)
                for _line, row in sheet.rows[:3]
                if (value := sheet.cell(row, mapping.columns.get(spec.id))) is not None
            ],
        }
        for spec in FIELDS[mapping.kind]
    ]
    return render(
        request,
        "web/import.html",
        {
            "step": "preview" if preview is not None else "columns",
            "token": token,
            "name": meta["name"],
            "sheet": sheet,
            "rows": len(sheet.rows),
            "kind": mapping.kind,
            "fields": fields,
            "columns": columns,
            "checkin_columns": [(sheet.headers[c], at) for c, at in guessed.checkin_columns],
            "use_checkins": request.method != "POST" or request.POST.get("checkins") == "1",
            "cycles": list(Cycle.objects.order_by("-start").values_list("key", flat=True)),
            "cycle": cycle or "",
            "preview": preview,
            "action": reverse("import_sheet", kwargs={"token": token}),
        },
    )


def _imported(name: str, result: ImportResult) -> str:
    """ "Imported okrs.xlsx: Objectives 3 created, 1 updated, 0 unchanged; …" """
    parts = [
        gettext("%(section)s %(created)s created, %(updated)s updated, %(unchanged)s unchanged")
        % {
            "section": SECTION_LABELS.get(section, section),
            "created": counts.created,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
        }
        for section, counts in result.counts.items()
        if counts.created or counts.updated or counts.unchanged
    ]
    return gettext("Imported %(file)s: %(result)s.") % {"file": name, "result": "; ".join(parts)}
