"""Static files are collected and served the way `headway serve` does in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings


@pytest.mark.django_db
def test_collected_static_files_serve_the_sign_in_page(tmp_path: Path) -> None:
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
        assert (tmp_path / "staticfiles.json").exists()
        page = Client().get("/accounts/login/")
    assert page.status_code == 200
    css = next(tmp_path.glob("headway/headway.*.css"))
    assert f"/static/headway/{css.name}".encode() in page.content
