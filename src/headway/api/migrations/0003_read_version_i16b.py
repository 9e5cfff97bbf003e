"""The version of what the whole-cycle tree and scores show (api/readversion.py; no model)."""

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    from headway.api.readversion import install

    install(schema_editor.connection)


def backwards(apps: Any, schema_editor: Any) -> None:
    from headway.api.readversion import uninstall

    uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_push_jobs_i13"),
        ("okrs", "0007_objective_contributor_i18s"),
        ("kpis", "0006_target_schedule_i19"),
        ("teams", "0003_person_language_i19i"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
