"""`http_json`: GET a URL, then a JMESPath expression picks the value from the JSON answer.

The expression selects a number (then `at` is the moment of the fetch), an object
`{at, value}`, or a list of such objects or of `[at, value]` pairs.
"""

from __future__ import annotations

import json
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
from headway.sources.kinds.web import check_url, get, header_lines
from headway.words import Number, Says, _, gettext_noop


class HttpJsonKind:
    id: str = "http_json"
    label: str = gettext_noop("JSON over HTTP")
    engines: frozenset[str] = frozenset({"http"})
    connection: str = "optional"
    fields: tuple[FieldSpec, ...] = (
        FieldSpec(
            "url", "URL", "https://…, or a path under the connection's base URL.", required=True
        ),
        FieldSpec(
            "expression",
            "JMESPath expression",
            "Picks a number, an {at, value} object, or a list of them, e.g. data.total or "
            "series[*].{at: day, value: count}.",
            required=True,
        ),
        FieldSpec(
            "headers",
            "Headers",
            "Optional 'Name: value' lines, not secret (secret tokens go in a connection).",
            multiline=True,
        ),
        FieldSpec("timeout", "Timeout (seconds)", "Optional; at most the site's limit."),
    )

    def clean(self, config: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        url = text_field(config, "url", errors, required=True, max_length=2000)
        if "url" not in errors and (problem := check_url(url, relative_ok=True)):
            errors["url"] = problem
        expression = text_field(config, "expression", errors, required=True, max_length=2000)
        if "expression" not in errors and (problem := compile_problem(expression)):
            errors["expression"] = problem
        headers, problem = header_lines(config.get("headers"))
        if problem:
            errors["headers"] = problem
        timeout = timeout_field(config, errors)
        unknown = set(config) - {"url", "expression", "headers", "timeout"}
        if unknown:
            errors[sorted(unknown)[0]] = _("is not a field of an http_json source")
        if errors:
            raise ConfigError(errors)
        cleaned: dict[str, Any] = {"url": url, "expression": expression}
        if headers:
            cleaned["headers"] = headers
        if timeout is not None:
            cleaned["timeout"] = timeout
        return cleaned

    def lint(self, config: Mapping[str, Any], engine: str | None) -> list[str]:
        problem = compile_problem(str(config.get("expression", "")))
        if not problem:
            return []
        return [_("the JMESPath expression does not compile: %(problem)s", problem=problem)]

    def fetch(
        self, config: Mapping[str, Any], connection: ConnectionInfo | None, limits: Limits
    ) -> list[Row]:
        import jmespath

        timeout = min(float(config.get("timeout") or limits.timeout), limits.timeout)
        body, _type = get(
            str(config["url"]),
            connection=connection,
            headers=dict(config.get("headers") or {}),
            limits=limits,
            timeout=timeout,
        )
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise FetchError(_("the answer is not JSON")) from None
        picked = jmespath.search(str(config["expression"]), document)
        return pick(picked, limits)


def compile_problem(expression: str) -> str | None:
    import jmespath
    from jmespath.exceptions import JMESPathError

    if not expression:
        return _("is required")
    try:
        jmespath.compile(expression)
    except JMESPathError as error:
        return str(error).splitlines()[0]  # jmespath's own words
    return None


def pick(picked: Any, limits: Limits) -> list[Row]:
    """Rows from what the expression selected (see the module doc)."""
    if picked is None:
        raise FetchError(_("the JMESPath expression selected nothing"))
    if isinstance(picked, list):
        if len(picked) > limits.max_rows:
            raise FetchError(
                _(
                    "the expression selected more than %(rows)s rows",
                    rows=Number(limits.max_rows, ",.0f"),
                )
            )
        return [_row(item, index) for index, item in enumerate(picked, start=1)]
    if isinstance(picked, dict):
        return [_row(picked, 1)]
    if isinstance(picked, int | float | str) and not isinstance(picked, bool):
        return [Row(at=None, value=picked)]
    raise FetchError(
        _(
            "the expression selected %(what)s, not a number or a list of {at, value}",
            what=_kind(picked),
        )
    )


def _row(item: Any, index: int) -> Row:
    if isinstance(item, dict):
        if "value" not in item:
            raise FetchError(_("item %(index)s has no `value`", index=str(index)))
        return Row(at=moment(item.get("at")) if "at" in item else None, value=item["value"])
    if isinstance(item, list) and len(item) == 2:
        return Row(at=moment(item[0]), value=item[1])
    if isinstance(item, int | float | str) and not isinstance(item, bool):
        raise FetchError(
            _(
                "the expression selected a list of values without moments; select [at, value] "
                "pairs or {at, value} objects"
            )
        )
    raise FetchError(
        _(
            "item %(index)s is %(what)s, not {at, value} or [at, value]",
            index=str(index),
            what=_kind(item),
        )
    )


def _kind(value: Any) -> str:
    names: dict[type, Says] = {
        bool: _("a boolean"),
        dict: _("an object"),
        list: _("a list"),
        str: _("a text"),
    }
    return names.get(type(value), type(value).__name__)  # other types by their Python name


KIND = HttpJsonKind()
