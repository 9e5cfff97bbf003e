"""A web process settles its heap before its first request (headway.wsgi)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PROBE = (
    "import gc, sys, headway.wsgi; "
    "print(gc.get_freeze_count(), 'headway.web.views.cycles' in sys.modules, "
    "'headway.api.routes.cycles' in sys.modules)"
)


def test_the_wsgi_application_imports_every_view_and_freezes_start_up_objects(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "HEADWAY_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "headway.settings", "HEADWAY_DATA_DIR": str(tmp_path)})
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    frozen, web_views, api_routes = out.stdout.split()
    assert int(frozen) > 50_000
    assert (web_views, api_routes) == ("True", "True")


def test_serve_gives_gunicorn_a_timeout_for_the_largest_push(settings: Any) -> None:
    """The worker timeout follows the API's body limit: 30 s + 2 s per MiB (158 s for 64)."""
    from headway.supervise import gunicorn_command

    command = gunicorn_command("127.0.0.1", 8000, 2)
    timeout = int(command[command.index("--timeout") + 1])
    assert timeout == settings.HEADWAY_SERVE_TIMEOUT
    if "HEADWAY_SERVE_TIMEOUT" not in os.environ:
        limit = settings.HEADWAY_API_MAX_INGEST_BYTES
        assert timeout == 30 + 2 * (limit >> 20)
        assert limit != 64 * 1024 * 1024 or timeout == 158
