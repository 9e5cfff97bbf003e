"""`prometheus`: a PromQL expression against a Prometheus server's HTTP API.

The connection (engine `http`) is the server's base URL (and any secret headers of a
proxy in front of it). `mode: instant` (default) reads the expression's value now;
`mode: range` reads it every `step` over the last `lookback`, e.g. `lookback: 7d`,
`step: 1d`. The expression must give exactly one series (aggregate with `sum(…)`, …).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

from headway.sources.kinds.base import (
    ConfigError,
    ConnectionInfo,
    FetchError,
    FieldSpec,
    Limits,
    Row,
    moment,
    text_field,
    timeout_field,
)
from headway.sources.kinds.web import get
from headway.words import Number, _, gettext_noop

DURATION = re.compile(r"^(\d+)(s|m|h|d|w)$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_POINTS = 11_000  # Prometheus refuses more than 11,000 points per series


def duration(text: str) -> int | None:
    """Seconds of a Prometheus duration like 90s, 15m, 6h, 7d, 2w (None if not one)."""
    match = DURATION.match(text.strip())
    return int(match[1]) * SECONDS[match[2]] if match else None


class PrometheusKind:
    id: str = "prometheus"
    label: str = gettext_noop("Prometheus query")
    engines: frozenset[str] = frozenset({"http"})
    connection: str = "required"
    fields: tuple[FieldSpec, ...] = (
        FieldSpec(
            "query",
            "PromQL expression",
            "Must give one series, e.g. sum(rate(x[5m])).",
            required=True,
            multiline=True,
        ),
        FieldSpec(
            "mode",
            "Mode",
            "instant: the value now; range: a series over the lookback.",
            choices=("instant", "range"),
            default="instant",
        ),
        FieldSpec("lookback", "Lookback", "Range mode: how far back, e.g. 7d."),
        FieldSpec("step", "Step", "Range mode: one point every, e.g. 1d."),
        FieldSpec("timeout", "Timeout (seconds)", "Optional; at most the site's limit."),
    )

    def clean(self, config: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        query = text_field(config, "query", errors, required=True, max_length=5000)
        if "query" not in errors and (problem := promql_problem(query)):
            errors["query"] = problem
        mode = text_field(config, "mode", errors) or "instant"
        if mode not in {"instant", "range"}:
            errors["mode"] = _("must be instant or range")
        cleaned: dict[str, Any] = {"query": query, "mode": mode}
        if mode == "range":
            for name in ("lookback", "step"):
                value = text_field(config, name, errors, required=True, max_length=20)
                if name not in errors and duration(value) is None:
                    errors[name] = _("must be a duration like 30m, 6h, 7d or 2w")
                cleaned[name] = value
            lookback, step = duration(cleaned["lookback"]), duration(cleaned["step"])
            if lookback and step and lookback // step > MAX_POINTS:
                errors["step"] = _(
                    "gives more than %(points)s points over the lookback",
                    points=Number(MAX_POINTS, ",.0f"),
                )
        else:
            for name in ("lookback", "step"):
                if config.get(name):
                    errors[name] = _("is only for range mode")
        timeout = timeout_field(config, errors)
        if timeout is not None:
            cleaned["timeout"] = timeout
        unknown = set(config) - {"query", "mode", "lookback", "step", "timeout"}
        if unknown:
            errors[sorted(unknown)[0]] = _("is not a field of a prometheus source")
        if errors:
            raise ConfigError(errors)
        return cleaned

    def lint(self, config: Mapping[str, Any], engine: str | None) -> list[str]:
        problem = promql_problem(str(config.get("query", "")))
        if not problem:
            return []
        return [_("the PromQL expression is not well formed: %(problem)s", problem=problem)]

    def fetch(
        self, config: Mapping[str, Any], connection: ConnectionInfo | None, limits: Limits
    ) -> list[Row]:
        if connection is None:
            raise FetchError(_("a prometheus source needs a connection to the server"))
        timeout = min(float(config.get("timeout") or limits.timeout), limits.timeout)
        params = {"query": str(config["query"]), "timeout": f"{max(1, int(timeout))}s"}
        if config.get("mode") == "range":
            end = time.time()
            params["start"] = f"{end - (duration(str(config['lookback'])) or 0):.3f}"
            params["end"] = f"{end:.3f}"
            params["step"] = str(config["step"])
            path = "api/v1/query_range"
        else:
            path = "api/v1/query"
        try:
            body, _type = get(
                path,
                connection=connection,
                headers={},
                limits=limits,
                timeout=timeout,
                params=params,
                answered=(400, 422),
            )
        except FetchError as error:
            raise FetchError(_("Prometheus: %(error)s", error=error.said)) from None
        try:
            answer = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise FetchError(_("Prometheus: the answer is not JSON")) from None
        return read(answer, limits)


def read(answer: Any, limits: Limits) -> list[Row]:
    """Rows from a Prometheus API answer (vector, matrix or scalar of one series)."""
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else None
        raise FetchError(
            _(
                "Prometheus refused the query: %(error)s",
                error=str(error) if error else _("no success status"),
            )
        )
    data = answer.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return [Row(at=moment(result[0]), value=result[1])]
    if kind not in {"vector", "matrix"} or not isinstance(result, list):
        if not kind:
            raise FetchError(_("Prometheus answered a strange result, not a series"))
        raise FetchError(_("Prometheus answered a %(type)s result, not a series", type=str(kind)))
    if not result:
        raise FetchError(_("the expression returned no series (nothing matches it right now)"))
    if len(result) > 1:
        raise FetchError(
            _(
                "the expression returned %(count)s series; aggregate it to one, e.g. sum(…)",
                count=str(len(result)),
            )
        )
    series = result[0]
    if kind == "vector":
        ts, value = series["value"]
        return [Row(at=moment(ts), value=value)]
    values = series.get("values") or []
    if len(values) > limits.max_rows:
        raise FetchError(
            _(
                "the range has more than %(points)s points; use a longer step",
                points=Number(limits.max_rows, ",.0f"),
            )
        )
    return [Row(at=moment(ts), value=value) for ts, value in values]


PAIRS = {"(": ")", "[": "]", "{": "}"}


def promql_problem(query: str) -> str | None:
    """A structural problem of a PromQL expression (brackets and quotes), without a server.

    Prometheus itself parses the expression at the first fetch (and preview); this catches
    what a typo in a file usually breaks.
    """
    if not query.strip():
        return _("is required")
    stack: list[tuple[str, int]] = []
    quote: str | None = None
    escaped = False
    for index, ch in enumerate(query, start=1):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'`":
            quote = ch
        elif ch == "#":
            break
        elif ch in PAIRS:
            stack.append((ch, index))
        elif ch in PAIRS.values():
            if not stack or PAIRS[stack[-1][0]] != ch:
                return _("unexpected %(ch)s at character %(index)s", ch=repr(ch), index=str(index))
            stack.pop()
    if quote:
        return _("a quoted string is not closed")
    if stack:
        ch, index = stack[-1]
        return _("%(ch)s at character %(index)s is not closed", ch=repr(ch), index=str(index))
    return None


KIND = PrometheusKind()
