"""Shared types and helpers of the data-source kinds (see the registry in `__init__`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from headway.words import Number, _

__all__ = [
    "ConfigError",
    "ConnectionInfo",
    "FetchError",
    "FieldSpec",
    "Kind",
    "Limits",
    "Row",
]


class FetchError(Exception):
    """A fetch that failed in a way the owner should read (no traceback, no secret).

    Its message is a `Says` (Headway's sentence, what a server or driver said kept as a
    parameter), so pages can say it in the reader's language; `str()` is the English.
    """

    @property
    def said(self) -> str:
        """The message as given: a `Says` when it was built as one (`str()` drops that)."""
        message = self.args[0] if self.args else ""
        return message if isinstance(message, str) else str(message)


class ConfigError(ValueError):
    """A source configuration that is not well formed: {field: message}."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


@dataclass(frozen=True)
class Row:
    """One raw row as the source gave it; `at` None means "the moment of the fetch"."""

    at: Any
    value: Any


@dataclass(frozen=True)
class Limits:
    """What one fetch may take: seconds, rows and bytes."""

    timeout: float = 30.0
    max_rows: int = 10_000
    max_bytes: int = 5 * 1024 * 1024


@dataclass(frozen=True)
class ConnectionInfo:
    """A connection as a kind sees it, secrets decrypted (never logged, never returned)."""

    name: str
    engine: str
    host: str = ""
    port: int | None = None
    database: str = ""
    user: str = ""
    base_url: str = ""
    password: str = field(default="", repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.password, *self.headers.values()) if s]


@dataclass(frozen=True)
class FieldSpec:
    """One configuration field of a kind, for forms, the API and the YAML format."""

    name: str
    label: str
    help: str = ""
    required: bool = False
    multiline: bool = False
    choices: tuple[str, ...] = ()
    default: str = ""


class Kind(Protocol):
    id: str
    label: str
    #: Connection engines it may use; `connection` says whether it must have one.
    engines: frozenset[str]
    connection: str  # "required" | "optional" | "none"
    fields: tuple[FieldSpec, ...]

    def clean(self, config: Mapping[str, Any]) -> dict[str, Any]: ...

    def lint(self, config: Mapping[str, Any], engine: str | None) -> list[str]: ...

    def fetch(
        self, config: Mapping[str, Any], connection: ConnectionInfo | None, limits: Limits
    ) -> list[Row]: ...


def text_field(config: Mapping[str, Any], name: str, errors: dict[str, str], *,
               required: bool = False, max_length: int = 20_000) -> str:  # fmt: skip
    """A trimmed text field of a config, recording a message in `errors` when it is wrong."""
    raw = config.get(name, "")
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        errors[name] = _("must be text")
        return ""
    value = raw.strip()
    if "\x00" in value:
        errors[name] = _("NUL characters are not allowed")
    elif required and not value:
        errors[name] = _("is required")
    elif len(value) > max_length:
        errors[name] = _("is longer than %(max)s characters", max=Number(max_length))
    return value


def timeout_field(config: Mapping[str, Any], errors: dict[str, str]) -> float | None:
    """The optional per-source timeout in seconds (never above the site's limit)."""
    raw = config.get("timeout")
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        errors["timeout"] = _("must be a number of seconds")
        return None
    if not math.isfinite(value) or value <= 0 or value > 3600:
        errors["timeout"] = _("must be between 0 and 3600 seconds")
        return None
    return value


def moment(raw: Any) -> Any:
    """A raw `at` as ingestion reads it: numbers are Unix seconds, the rest passes through."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float | Decimal):
        number = float(raw)
        if not math.isfinite(number):
            return raw
        try:
            return datetime.fromtimestamp(number, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return raw
    return raw


def number(raw: Any) -> Any:
    """A raw value as ingestion reads it: Decimals become floats, the rest passes through."""
    if isinstance(raw, Decimal):
        return float(raw)
    return raw


def rows_from_pairs(pairs: Sequence[Sequence[Any]]) -> list[Row]:
    return [Row(at=moment(p[0]), value=number(p[1])) for p in pairs]


def cron_problem(schedule: str) -> str | None:
    """Why a cron expression is not one (None: it is, or it is empty). No Django needed."""
    from cronsim import CronSim, CronSimError

    text = schedule.strip()
    if not text:
        return None
    if len(text.split()) != 5:
        return _("a cron expression has 5 fields: minute hour day month weekday")
    try:
        CronSim(text, datetime(2027, 1, 1, tzinfo=UTC))
    except CronSimError as error:
        return _("not a cron expression: %(error)s", error=str(error))
    return None
