from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "headway.directory"
    label = "directory"
    verbose_name = "Directory and sign-in"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from headway.directory import signals  # noqa: F401 - connects the sign-in receivers
