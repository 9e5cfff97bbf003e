from typing import Any

from django.apps import AppConfig, apps
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
        # Not `sender=self`: Django sends post_migrate only for apps with models, and this
        # one has none, so the repair never ran. Nor for every app (thirty times a migrate
        # or test flush): once, for the app whose tables the index reads. Django sends
        # post_migrate after all migrations have run, whichever app it names.
        okrs = apps.get_app_config("okrs")
        post_migrate.connect(_repair, sender=okrs, dispatch_uid="headway.search.repair")
