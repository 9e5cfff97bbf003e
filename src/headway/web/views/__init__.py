"""HTML pages, one module per area; `headway.urls` reaches them through `web/urls.py`."""

from headway.web.views.health import healthz

__all__ = ["healthz"]
