"""Pages of data sources: a KPI's source and its incidents; connections for admins."""

from django.urls import path

from headway.sources import views

urlpatterns = [
    path("kpis/<slug:key>/source/", views.source_edit, name="kpi_source"),
    path(
        "kpis/<slug:key>/source/incidents/<int:pk>/",
        views.incident_decide,
        name="kpi_incident",
    ),
    path("settings/connections", views.connections, name="connections"),
    path("settings/connections/<slug:name>", views.connection_edit, name="connection"),
]
