from django.apps import AppConfig


class DiscussionConfig(AppConfig):
    name = "headway.discussion"
    label = "discussion"
