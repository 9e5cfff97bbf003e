from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "headway.teams"
    label = "teams"
    verbose_name = "People and teams"
