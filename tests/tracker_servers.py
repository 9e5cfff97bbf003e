"""Stand-ins for GitHub, GitLab and Jira: stdlib HTTP servers on free loopback ports.

Each speaks the part of its tracker's documented REST API that Headway calls, with the
documented authentication and error answers:

- GitHub (REST 2022-11-28, as GitHub Enterprise Server: the API under `/api/v3`):
  `GET /repos/{owner}/{repo}/issues/{n}` and `GET /user`, `Authorization: Bearer <token>`;
  401 `{"message": "Bad credentials"}`, 404 `{"message": "Not Found"}`.
- GitLab (REST v4): `GET /api/v4/projects/{url-encoded path}/issues/{iid}` and
  `GET /api/v4/user`, `PRIVATE-TOKEN: <token>`; 401 `{"message": "401 Unauthorized"}`,
  404 `{"message": "404 Not found"}`. The project path must arrive URL-encoded (one segment).
- Jira Cloud (REST 3): `GET /rest/api/3/issue/{key}?fields=status` and
  `GET /rest/api/3/myself`, `Authorization: Basic base64(email:token)` (or `Bearer <PAT>`,
  as Data Center); 401 with an empty body, 404 `{"errorMessages": […], "errors": {}}`.

`faults` makes one issue answer a status (500, 502…) or answer late, to test failures.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest


@dataclass
class Fault:
    status: int = 0
    delay: float = 0.0
    #: Extra response headers (e.g. GitHub's `x-ratelimit-remaining: 0` with a 403).
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeTracker:
    kind: str
    base: str = ""
    token: str = "tok-" + "x" * 12
    email: str = "bot@acme.test"
    #: Issue key (github "owner/repo/12", gitlab "group/sub/project/5", jira "ABC-7") → fields.
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, Fault] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    seen_queries: list[dict[str, list[str]]] = field(default_factory=list)
    #: Headers of the fault being answered (requests are answered one at a time per key).
    extra_headers: dict[str, str] = field(default_factory=dict)

    def reset(self) -> None:
        self.issues.clear()
        self.faults.clear()
        self.hits.clear()
        self.seen_headers.clear()
        self.seen_queries.clear()
        self.extra_headers.clear()

    # What people paste as an initiative's link.
    def link(self, key: str) -> str:
        if self.kind == "github":
            owner, repo, number = key.split("/")
            return f"{self.base}/{owner}/{repo}/issues/{number}"
        if self.kind == "gitlab":
            project, iid = key.rsplit("/", 1)
            return f"{self.base}/{project}/-/issues/{iid}"
        return f"{self.base}/browse/{key}"

    @property
    def api_url(self) -> str:
        """GitHub's API address (Enterprise Server style); the others' is the site itself."""
        return f"{self.base}/api/v3" if self.kind == "github" else ""

    # ------------------------------------------------------------------ answers

    def answer(self, raw_path: str, headers: dict[str, str]) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        self.seen_headers.append(headers)
        self.seen_queries.append(parse_qs(parts.query))
        if not self._authorised(headers):
            return self._unauthorised()
        route = getattr(self, f"_{self.kind}")
        return route(parts.path)  # type: ignore[no-any-return]

    def _authorised(self, headers: dict[str, str]) -> bool:
        lower = {k.lower(): v for k, v in headers.items()}
        if self.kind == "gitlab":
            return lower.get("private-token") == self.token
        given = lower.get("authorization", "")
        if self.kind == "jira":
            basic = base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
            return given in (f"Basic {basic}", f"Bearer {self.token}")
        return given == f"Bearer {self.token}"

    def _unauthorised(self) -> tuple[int, Any]:
        if self.kind == "github":
            return 401, {
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
            }
        if self.kind == "gitlab":
            return 401, {"message": "401 Unauthorized"}
        return 401, None

    def _issue(self, key: str, body: Any) -> tuple[int, Any]:
        self.hits[key] += 1
        fault = self.faults.get(key)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status:
                self.extra_headers = dict(fault.headers)
                return fault.status, {"message": "Server Error"}
        return 200, body

    def _github(self, path: str) -> tuple[int, Any]:
        segments = path.split("/")
        if path == "/api/v3/user":
            return 200, {"login": "headway-bot", "id": 1}
        # /api/v3/repos/{owner}/{repo}/issues/{n}
        if (
            len(segments) == 8
            and segments[1:4] == ["api", "v3", "repos"]
            and segments[6] == "issues"
        ):
            owner, repo, number = segments[4], segments[5], segments[7]
            key = f"{owner}/{repo}/{number}"
            if key not in self.issues:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com"}
            fields = self.issues[key]
            return self._issue(key, {
                "id": 1000 + int(number), "number": int(number),
                "html_url": self.link(key), "title": fields.get("title", "An issue"),
                "state": fields.get("state", "open"), "state_reason": fields.get("state_reason"),
                "assignee": fields.get("assignee"), "assignees": fields.get("assignees", []),
            })  # fmt: skip
        return 404, {"message": "Not Found"}

    def _gitlab(self, path: str) -> tuple[int, Any]:
        if path == "/api/v4/user":
            return 200, {"id": 1, "username": "headway-bot", "name": "Headway Bot"}
        segments = path.split("/")
        # /api/v4/projects/{encoded path}/issues/{iid}: the path is ONE segment, encoded.
        if (
            len(segments) == 7
            and segments[1:4] == ["api", "v4", "projects"]
            and segments[5] == "issues"
        ):
            project, iid = unquote(segments[4]), segments[6]
            key = f"{project}/{iid}"
            if key not in self.issues:
                return 404, {"message": "404 Not found"}
            fields = self.issues[key]
            return self._issue(key, {
                "id": 2000 + int(iid), "iid": int(iid), "title": fields.get("title", "An issue"),
                "state": fields.get("state", "opened"), "web_url": self.link(key),
                "assignee": fields.get("assignee"), "assignees": fields.get("assignees", []),
            })  # fmt: skip
        return 404, {"message": "404 Not found"}

    def _jira(self, path: str) -> tuple[int, Any]:
        if path == "/rest/api/3/myself":
            return 200, {"accountId": "5b10", "emailAddress": self.email, "displayName": "Bot"}
        prefix = "/rest/api/3/issue/"
        if path.startswith(prefix) and "/" not in path[len(prefix) :]:
            key = path[len(prefix) :]
            if key not in self.issues:
                missing = "Issue does not exist or you do not have permission to see it."
                return 404, {"errorMessages": [missing], "errors": {}}
            fields = self.issues[key]
            category = fields.get("category", "new")
            return self._issue(key, {
                "id": "10001", "key": key, "self": f"{self.base}{path}",
                "fields": {"status": {
                    "name": fields.get("status", {"new": "To Do", "indeterminate": "In Progress",
                                                  "done": "Done"}[category]),
                    "statusCategory": {"id": 2, "key": category, "name": category.title()},
                }},
            })  # fmt: skip
        return 404, {"errorMessages": ["Not found"], "errors": {}}


def _serve(state: FakeTracker) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = state.answer(self.path, dict(self.headers.items()))
            data = b"" if body is None else json.dumps(body).encode()
            extra, state.extra_headers = state.extra_headers, {}
            try:
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd, thread


@pytest.fixture(scope="session")
def fake_trackers() -> Iterator[dict[str, FakeTracker]]:
    """One running server per kind, for the whole session (reset each test by `trackers`)."""
    states = {kind: FakeTracker(kind) for kind in ("github", "gitlab", "jira")}
    servers = [_serve(state) for state in states.values()]
    yield states
    for httpd, _thread in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def tracker_servers(fake_trackers: dict[str, FakeTracker]) -> dict[str, FakeTracker]:
    for state in fake_trackers.values():
        state.reset()
    return fake_trackers
