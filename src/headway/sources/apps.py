from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "headway.sources"
    label = "sources"
    verbose_name = "Data sources"
    default_auto_field = "django.db.models.BigAutoField"
