from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _repair(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """After every migrate (and test flush): put back the bulk reads' version triggers
    that a table rebuild dropped, and move the version on (api/readversion.py)."""
    from django.db import connections

    from headway.api.readversion import install

    install(connections[using])


class ApiConfig(AppConfig):
    name = "headway.api"
    label = "api"

    def ready(self) -> None:
        post_migrate.connect(_repair, sender=self, dispatch_uid="headway.api.readversion")
