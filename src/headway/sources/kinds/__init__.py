"""The registry of data-source kinds: a stable id → the module that implements it.

A kind is one module with a `KIND` object (see `Kind`): the fields it takes, how to check
them (`clean`, no network), how to lint them offline (`lint`) and how to fetch rows
(`fetch`). Adding a kind is adding a module and a line to `KINDS`.
No Django here: kinds get plain values (the connection with its secrets already decrypted)
and return raw rows, which `headway.sources.actions` validates and stores.
"""

from __future__ import annotations

from headway.sources.kinds import csv_url, http_json, prometheus, sql
from headway.sources.kinds.base import (
    ConfigError,
    ConnectionInfo,
    FetchError,
    FieldSpec,
    Kind,
    Limits,
    Row,
)
from headway.words import _

__all__ = [
    "KINDS",
    "ConfigError",
    "ConnectionInfo",
    "FetchError",
    "FieldSpec",
    "Kind",
    "Limits",
    "Row",
    "kind_of",
]

KINDS: dict[str, Kind] = {
    "sql": sql.KIND,
    "http_json": http_json.KIND,
    "csv_url": csv_url.KIND,
    "prometheus": prometheus.KIND,
}


def kind_of(kind_id: str) -> Kind:
    try:
        return KINDS[kind_id]
    except KeyError:
        raise ConfigError(
            {"kind": _("unknown kind %(kind)s; one of %(kinds)s", kind=repr(kind_id),
                       kinds=", ".join(KINDS))}
        ) from None  # fmt: skip
