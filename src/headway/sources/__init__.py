"""Data sources: KPIs whose values fetch themselves from databases, HTTP APIs and Prometheus."""
