from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "headway.notify"
    label = "notify"
