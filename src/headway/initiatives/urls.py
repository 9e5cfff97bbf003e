"""Pages of initiatives' trackers (admins)."""

from django.urls import path

from headway.initiatives import views

urlpatterns = [
    path("settings/trackers", views.trackers, name="trackers"),
    path("settings/trackers/<slug:name>", views.tracker_action, name="tracker"),
]
