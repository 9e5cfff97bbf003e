from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _repair(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """After every migrate (and test flush): put back what a table rebuild dropped."""
    from django.db import connections

    from headway.search.index import install

    install(connections[using])


class SearchConfig(AppConfig):
    name = "headway.search"
    label = "search"

    def ready(self) -> None:
        post_migrate.connect(_repair, sender=self, dispatch_uid="headway.search.repair")
