"""The full-text index of the searchable tables (search/index.py; no model of its own)."""

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    from headway.search.index import install

    install(schema_editor.connection)


def backwards(apps: Any, schema_editor: Any) -> None:
    from headway.search.index import uninstall

    uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("okrs", "0005_objective_language"),
        ("kpis", "0003_kpi_evaluation_state"),
        ("teams", "0002_membership_origin"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
