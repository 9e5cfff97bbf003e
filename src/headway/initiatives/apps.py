from django.apps import AppConfig


class InitiativesConfig(AppConfig):
    name = "headway.initiatives"
    label = "initiatives"
