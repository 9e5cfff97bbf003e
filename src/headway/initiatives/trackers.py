"""Issue trackers an initiative may follow: GitHub, GitLab and Jira (a registry of kinds).

Each kind knows three things, all pure (no Django, no network), so they are tested in
milliseconds:

- `parse`: whether a URL is one of its issues on a given site (the tracker's base URL),
  e.g. ``https://github.com/acme/app/issues/12``;
- `issue_request` / `probe_request`: the documented REST request for that issue (or for
  "who am I", to test a tracker's token), with the documented auth header;
- `remote`: the tracker's answer mapped to an initiative status (planned / in progress /
  done / dropped), with the tracker's own words for the page.

`fetch` and `probe` run those requests with the data sources' HTTP settings
(sources/kinds/web.py's TLS context; a timeout, a byte limit, redirects never followed
with a token) and turn statuses into readable, secret-free errors. See docs/okrs.md, "Tracker sync".
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from headway.initiatives.progress import DONE, DROPPED, IN_PROGRESS, PLANNED


class TrackerError(Exception):
    """A sync or test that failed, worded for the initiative's owner (never a secret)."""


@dataclass(frozen=True)
class TrackerInfo:
    """A configured tracker as a kind sees it, its token decrypted."""

    kind: str
    url: str
    api_url: str = ""
    email: str = ""
    token: str = field(default="", repr=False)
    name: str = ""


@dataclass(frozen=True)
class Issue:
    """One issue of a tracker, as read from its URL."""

    kind: str
    #: The parts of the URL that name it: (owner, repo, number), (project path, iid), (key,).
    parts: tuple[str, ...]

    @property
    def label(self) -> str:
        """How people write it: acme/app#12, group/project#5, ABC-12."""
        if self.kind == "jira":
            return self.parts[0]
        return f"{'/'.join(self.parts[:-1])}#{self.parts[-1]}"


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class Remote:
    """What a tracker says about an issue, mapped to an initiative status."""

    status: str
    #: The tracker's own words ("closed (not_planned)", "In Review"), for pages.
    state: str
    title: str = ""


def _relative(url: str, base: str) -> str | None:
    """The path of `url` under `base` (same scheme, host and port), or None."""
    link, site = urlsplit(url.strip()), urlsplit(base.strip())
    if link.scheme not in {"http", "https"} or not link.hostname:
        return None
    if (link.scheme, link.hostname, link.port) != (site.scheme, site.hostname, site.port):
        return None
    prefix = site.path.rstrip("/")
    if prefix and not (link.path == prefix or link.path.startswith(prefix + "/")):
        return None
    return link.path[len(prefix) :] or "/"


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise TrackerError("the tracker's answer is not JSON") from None
    if not isinstance(data, dict):
        raise TrackerError("the tracker's answer is not a JSON object")
    return data


def _assigned(payload: Mapping[str, Any]) -> bool:
    return bool(payload.get("assignee") or payload.get("assignees"))


class Tracker:
    id: str = ""
    label: str = ""
    #: Example issue URL, for forms and docs.
    example: str = ""
    #: What the base URL is, for forms.
    url_help: str = ""
    pattern: re.Pattern[str] = re.compile(r"$^")

    def parse(self, url: str, base: str) -> Issue | None:
        """The issue `url` names on the tracker at `base`, or None."""
        path = _relative(url, base)
        if path is None:
            return None
        found = self.pattern.match(path)
        return Issue(self.id, found.groups()) if found else None

    def api_base(self, info: TrackerInfo) -> str:
        return (info.api_url or info.url).rstrip("/")

    def auth(self, info: TrackerInfo) -> dict[str, str]:
        return {"Authorization": f"Bearer {info.token}"} if info.token else {}

    def issue_request(self, issue: Issue, info: TrackerInfo) -> Request:
        raise NotImplementedError

    def probe_request(self, info: TrackerInfo) -> Request:
        raise NotImplementedError

    def remote(self, payload: Mapping[str, Any]) -> Remote:
        raise NotImplementedError

    def who(self, payload: Mapping[str, Any]) -> str:
        """The account a token belongs to, from the probe's answer."""
        return str(payload.get("login") or payload.get("username") or payload.get("name") or "")


class GitHub(Tracker):
    """GitHub and GitHub Enterprise Server: REST API v3 (2022-11-28)."""

    id = "github"
    label = "GitHub"
    example = "https://github.com/OWNER/REPO/issues/12"
    url_help = "https://github.com, or your GitHub Enterprise Server's address."
    pattern = re.compile(r"^/([^/]+)/([^/]+)/issues/(\d+)/?$")

    def api_base(self, info: TrackerInfo) -> str:
        if info.api_url:
            return info.api_url.rstrip("/")
        site = urlsplit(info.url)
        if site.hostname == "github.com":
            return "https://api.github.com"
        return info.url.rstrip("/") + "/api/v3"

    def _headers(self, info: TrackerInfo) -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            **self.auth(info),
        }

    def issue_request(self, issue: Issue, info: TrackerInfo) -> Request:
        owner, repo, number = issue.parts
        return Request(
            f"{self.api_base(info)}/repos/{quote(owner)}/{quote(repo)}/issues/{number}",
            self._headers(info),
        )

    def probe_request(self, info: TrackerInfo) -> Request:
        return Request(f"{self.api_base(info)}/user", self._headers(info))

    def remote(self, payload: Mapping[str, Any]) -> Remote:
        state = str(payload.get("state") or "")
        reason = str(payload.get("state_reason") or "")
        title = str(payload.get("title") or "")
        words = f"{state} ({reason})" if reason else state
        if state == "closed":
            # completed (or no reason, from before reasons existed) is done; not_planned
            # and duplicate close the issue without the work.
            status = DROPPED if reason in {"not_planned", "duplicate"} else DONE
        elif state == "open":
            status = IN_PROGRESS if _assigned(payload) or reason == "reopened" else PLANNED
        else:
            raise TrackerError(f"GitHub answered an unknown issue state {state!r}")
        return Remote(status, words, title)


class GitLab(Tracker):
    """GitLab (gitlab.com or self-managed): REST API v4."""

    id = "gitlab"
    label = "GitLab"
    example = "https://gitlab.com/GROUP/PROJECT/-/issues/5"
    url_help = "https://gitlab.com, or your GitLab's address (with its path, if any)."
    pattern = re.compile(r"^/(.+?)/-/(?:issues|work_items)/(\d+)/?$")

    def auth(self, info: TrackerInfo) -> dict[str, str]:
        return {"PRIVATE-TOKEN": info.token} if info.token else {}

    def issue_request(self, issue: Issue, info: TrackerInfo) -> Request:
        project, iid = issue.parts
        return Request(
            f"{self.api_base(info)}/api/v4/projects/{quote(project, safe='')}/issues/{iid}",
            self.auth(info),
        )

    def probe_request(self, info: TrackerInfo) -> Request:
        return Request(f"{self.api_base(info)}/api/v4/user", self.auth(info))

    def remote(self, payload: Mapping[str, Any]) -> Remote:
        state = str(payload.get("state") or "")
        title = str(payload.get("title") or "")
        if state == "closed":
            return Remote(DONE, state, title)
        if state in {"opened", "reopened"}:
            return Remote(IN_PROGRESS if _assigned(payload) else PLANNED, state, title)
        raise TrackerError(f"GitLab answered an unknown issue state {state!r}")


#: Jira statuses of the "done" category that mean the work was not done.
JIRA_DROPPED = frozenset(
    {"won't do", "won't fix", "wont do", "cancelled", "canceled", "declined", "rejected",
     "duplicate", "obsolete", "abandoned"}
)  # fmt: skip


class Jira(Tracker):
    """Jira Cloud (REST API 3; an e-mail and API token) or Data Center (a personal token)."""

    id = "jira"
    label = "Jira"
    example = "https://ACME.atlassian.net/browse/ABC-12"
    url_help = "Your Jira site, e.g. https://acme.atlassian.net."
    pattern = re.compile(r"^/browse/([A-Za-z][A-Za-z0-9_]*-\d+)/?$")

    def auth(self, info: TrackerInfo) -> dict[str, str]:
        if not info.token:
            return {}
        if info.email:
            pair = base64.b64encode(f"{info.email}:{info.token}".encode()).decode("ascii")
            return {"Authorization": f"Basic {pair}"}
        return {"Authorization": f"Bearer {info.token}"}

    def _headers(self, info: TrackerInfo) -> dict[str, str]:
        return {"Accept": "application/json", **self.auth(info)}

    def issue_request(self, issue: Issue, info: TrackerInfo) -> Request:
        key = issue.parts[0].upper()
        return Request(
            f"{self.api_base(info)}/rest/api/3/issue/{quote(key)}?fields=status",
            self._headers(info),
        )

    def probe_request(self, info: TrackerInfo) -> Request:
        return Request(f"{self.api_base(info)}/rest/api/3/myself", self._headers(info))

    def remote(self, payload: Mapping[str, Any]) -> Remote:
        fields = payload.get("fields")
        status = fields.get("status") if isinstance(fields, Mapping) else None
        category = status.get("statusCategory") if isinstance(status, Mapping) else None
        key = str(category.get("key") or "") if isinstance(category, Mapping) else ""
        name = str(status.get("name") or key) if isinstance(status, Mapping) else key
        if key == "new":
            return Remote(PLANNED, name)
        if key == "indeterminate":
            return Remote(IN_PROGRESS, name)
        if key == "done":
            plain = name.strip().lower().replace("\u2019", "'")  # a typographic apostrophe
            return Remote(DROPPED if plain in JIRA_DROPPED else DONE, name)
        raise TrackerError(f"Jira answered an unknown status category {key!r}")

    def who(self, payload: Mapping[str, Any]) -> str:
        return str(payload.get("emailAddress") or payload.get("displayName") or "")


TRACKERS: dict[str, Tracker] = {kind.id: kind for kind in (GitHub(), GitLab(), Jira())}


def recognise(url: str, base: str, kind: str) -> Issue | None:
    """The issue a link names on a tracker of `kind` at `base` (None: not one of its)."""
    tracker = TRACKERS.get(kind)
    return tracker.parse(url, base) if tracker is not None else None


# --------------------------------------------------------------------------- network


def fetch(issue: Issue, info: TrackerInfo, *, timeout: float, max_bytes: int) -> Remote:
    """The issue's state from its tracker, or TrackerError with a readable reason."""
    tracker = TRACKERS[issue.kind]
    request = tracker.issue_request(issue, info)
    status, body = _answer(request, info, timeout=timeout, max_bytes=max_bytes)
    if status in (401, 403):
        raise TrackerError(
            f"{tracker.label} refused the tracker's token (HTTP {status}): an admin renews it "
            "on the Trackers page"
        )
    if status in (404, 410):
        raise TrackerError(
            f"{tracker.label} has no issue {issue.label} (HTTP {status}), or the token may not "
            "see it"
        )
    return tracker.remote(_json(body))


def probe(info: TrackerInfo, *, timeout: float, max_bytes: int) -> str:
    """Test a tracker's address and token: the account it signs in as, or TrackerError."""
    tracker = TRACKERS[info.kind]
    status, body = _answer(tracker.probe_request(info), info, timeout=timeout, max_bytes=max_bytes)
    if status in (401, 403):
        raise TrackerError(f"{tracker.label} refused the token (HTTP {status})")
    if status in (404, 410):
        raise TrackerError(
            f"{tracker.label} answered HTTP {status}: is the address (or API address) right?"
        )
    return tracker.who(_json(body)) or "an account without a name"


def _answer(
    request: Request, info: TrackerInfo, *, timeout: float, max_bytes: int
) -> tuple[int, bytes]:
    """GET a request: (status, body) for 2xx and the answered errors; TrackerError else."""
    import httpx

    from headway import secrets
    from headway.sources.kinds import web

    try:
        with (
            httpx.Client(
                timeout=httpx.Timeout(timeout, connect=min(timeout, web.MAX_CONNECT_SECONDS)),
                follow_redirects=False,
                verify=web._tls(),
            ) as client,
            client.stream(
                "GET",
                request.url,
                headers={"User-Agent": "Headway tracker sync", **request.headers},
            ) as response,
        ):
            label = web.where(request.url)
            status = response.status_code
            if 300 <= status < 400:
                raise TrackerError(
                    f"{label} answered a redirect (HTTP {status}), which is not followed with "
                    "a token: check the tracker's address"
                )
            limited = response.headers.get("x-ratelimit-remaining") == "0"
            if status == 429 or (status == 403 and (limited or "retry-after" in response.headers)):
                raise TrackerError(
                    f"{label} is rate limiting the token (HTTP {status}); Headway tries later"
                )
            if status >= 400 and status not in (401, 403, 404, 410):
                raise TrackerError(f"{label} answered HTTP {status} {response.reason_phrase}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise TrackerError(f"{label} sent more than {max_bytes:,} bytes")
            return status, bytes(body)
    except httpx.TimeoutException:
        raise TrackerError(
            f"{web.where(request.url)} did not answer within {timeout:g} s"
        ) from None
    except httpx.HTTPError as error:
        message = f"cannot reach {web.where(request.url)}: {web._reason(error)}"
        raise TrackerError(secrets.redact(message, [info.token])) from None
