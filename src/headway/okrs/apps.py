from django.apps import AppConfig


class OkrsConfig(AppConfig):
    name = "headway.okrs"
    label = "okrs"
