"""Start and stop the real identity providers the sign-in tests talk to, on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class OidcProvider:
    """django-oidc-provider in its own process; `people` may be rewritten between sign-ins."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        people: dict[str, Any],
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self._dir = tempfile.TemporaryDirectory(prefix="headway-test-op-")
        self._people = Path(self._dir.name) / "people.json"
        self.set_people(people)
        env = {
            **os.environ,
            "TEST_OP_DB": str(Path(self._dir.name) / "op.sqlite3"),
            "TEST_OP_PEOPLE": str(self._people),
            "PYTHONPATH": str(ROOT),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        spec = json.dumps(
            {"client_id": client_id, "client_secret": client_secret, "redirect_uris": redirect_uris}
        )
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.idp.oidc_op.serve", spec],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("listening on "):
            self._process.kill()
            _, err = self._process.communicate(timeout=10)
            raise RuntimeError(f"the test OpenID provider did not start: {line}{err}")
        self.port = int(line.split()[-1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.base_url}/openid"

    def set_people(self, people: dict[str, Any]) -> None:
        """username -> {password, email, email_verified, name, groups}."""
        tmp = self._people.with_suffix(".tmp")
        tmp.write_text(json.dumps(people))
        tmp.replace(self._people)

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        if self._process.stdout:
            self._process.stdout.close()
        if self._process.stderr:
            self._process.stderr.close()
        self._dir.cleanup()
