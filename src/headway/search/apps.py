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
        # For every app, not `sender=self`: Django sends post_migrate only for apps with
        # models, and this one has none, so the repair never ran; install is idempotent
        # and costs two queries when nothing is missing.
        post_migrate.connect(_repair, dispatch_uid="headway.search.repair")
