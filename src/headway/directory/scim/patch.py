"""SCIM PATCH (RFC 7644 section 3.5.2) applied to a resource held as a JSON document.

No Django here. Attribute names match regardless of case; the core schema's URN prefix may
lead a path (`urn:ietf:params:scim:schemas:core:2.0:User:userName`); an extension's
attributes live under its URN. What identity providers actually send is accepted too:
`"op": "Replace"` in any case, a path-less operation whose keys are themselves paths
(`{"name.givenName": "Ada"}`, Entra ID), `emails[type eq "work"].value` for an address that
is not there yet (added), and `remove` on `members` with the members to remove as the value.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from headway.directory.scim.filter import And, Compare, FilterError, Node, Not, Or, Present, parse
from headway.directory.scim.filter import ValuePath as FilterValuePath

CORE_PREFIXES = (
    "urn:ietf:params:scim:schemas:core:2.0:user:",
    "urn:ietf:params:scim:schemas:core:2.0:group:",
)
_PATH = re.compile(
    r"^(?P<attr>[A-Za-z$][\w$-]*)(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$"
)


# New attributes take the schema's spelling, whatever case the request used.
CANONICAL = {
    name.casefold(): name
    for name in (
        "userName",
        "displayName",
        "externalId",
        "name",
        "formatted",
        "familyName",
        "givenName",
        "middleName",
        "honorificPrefix",
        "honorificSuffix",
        "emails",
        "value",
        "type",
        "primary",
        "display",
        "active",
        "members",
        "nickName",
        "title",
        "locale",
    )
}


class PatchError(ValueError):
    """A PATCH that cannot be applied; `scim_type` is the RFC 7644 error type."""

    def __init__(self, message: str, scim_type: str = "invalidValue") -> None:
        super().__init__(message)
        self.scim_type = scim_type


def key_of(doc: dict[str, Any], name: str) -> str:
    """The key of `doc` that is `name` regardless of case (or `name` when there is none)."""
    folded = name.casefold()
    return next((key for key in doc if key.casefold() == folded), CANONICAL.get(folded, name))


def get(doc: dict[str, Any], name: str) -> Any:
    return doc.get(key_of(doc, name))


def matches(item: Any, node: Node) -> bool:
    """Whether a value of a multi-valued attribute satisfies a filter (sub-attribute paths)."""
    if isinstance(node, And):
        return matches(item, node.left) and matches(item, node.right)
    if isinstance(node, Or):
        return matches(item, node.left) or matches(item, node.right)
    if isinstance(node, Not):
        return not matches(item, node.inner)
    if isinstance(node, FilterValuePath):
        return matches(item, node.inner)
    if not isinstance(item, dict):
        found: Any = item
    else:
        found = item
        for part in node.path.split("."):
            found = get(found, part) if isinstance(found, dict) else None
    if isinstance(node, Present):
        return found not in (None, "", [], {})
    assert isinstance(node, Compare)
    return _compare(found, node.op, node.value)


def _compare(found: Any, op: str, value: Any) -> bool:
    if isinstance(found, str) and isinstance(value, str):
        found, value = found.casefold(), value.casefold()
    if op == "eq":
        return bool(found == value)
    if op == "ne":
        return bool(found != value)
    if found is None or value is None:
        return False
    if op in {"co", "sw", "ew"}:
        text, wanted = str(found), str(value)
        return {"co": wanted in text, "sw": text.startswith(wanted), "ew": text.endswith(wanted)}[
            op
        ]
    try:
        return bool(
            {"gt": found > value, "ge": found >= value, "lt": found < value, "le": found <= value}[
                op
            ]
        )
    except TypeError:
        return False


def _split(path: str, extensions: tuple[str, ...]) -> tuple[str | None, str]:
    """(extension URN or None, the rest) for a path that may start with a schema URN."""
    lowered = path.casefold()
    for prefix in CORE_PREFIXES:
        if lowered.startswith(prefix):
            return None, path[len(prefix) :]
    for urn in extensions:
        if lowered.startswith(urn.casefold() + ":"):
            return urn, path[len(urn) + 1 :]
        if lowered == urn.casefold():
            return urn, ""
    if lowered.startswith("urn:"):
        # An extension this resource does not know: the caller decides (ignore or refuse).
        urn, _, rest = path.rpartition(":")
        return urn, rest
    return None, path


def apply(
    doc: dict[str, Any],
    operations: Any,
    *,
    extensions: tuple[str, ...] = (),
    read_only: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A new document with `operations` applied; PatchError for anything that cannot apply."""
    if not isinstance(operations, list) or not operations:
        raise PatchError("Operations must be a non-empty list.", "invalidSyntax")
    result = copy.deepcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict):
            raise PatchError("Each operation must be an object.", "invalidSyntax")
        op = str(get(operation, "op") or "").lower()
        path = get(operation, "path")
        value = get(operation, "value")
        if op not in {"add", "replace", "remove"}:
            raise PatchError(f"Unknown op {op!r} (add, replace or remove).", "invalidSyntax")
        if path in (None, ""):
            if op == "remove":
                raise PatchError("remove needs a path.", "noTarget")
            if not isinstance(value, dict):
                raise PatchError("Without a path, the value must be an object.", "invalidSyntax")
            for name, item in value.items():
                if str(name).casefold() in read_only:
                    continue  # Okta repeats `id` in a path-less replace: nothing to change
                _one(result, op, str(name), item, extensions, read_only)
        else:
            _one(result, op, str(path), value, extensions, read_only)
    return result


def _one(
    doc: dict[str, Any],
    op: str,
    path: str,
    value: Any,
    extensions: tuple[str, ...],
    read_only: frozenset[str],
) -> None:
    urn, rest = _split(path, extensions)
    if urn is not None:
        if urn not in extensions:
            return  # an extension Headway does not keep (e.g. Entra ID's manager): ignored
        if not rest:
            # The whole extension object.
            if op == "remove":
                doc.pop(key_of(doc, urn), None)
                return
            if not isinstance(value, dict):
                raise PatchError(f"{urn} takes an object.")
            for name, item in value.items():
                _one(doc, op, f"{urn}:{name}", item, extensions, read_only)
            return
        container = doc.setdefault(key_of(doc, urn), {})
        if not isinstance(container, dict):
            container = doc[key_of(doc, urn)] = {}
        _apply_path(container, op, rest, value, read_only=frozenset())
        if not container:
            doc.pop(key_of(doc, urn), None)
        return
    _apply_path(doc, op, rest, value, read_only)


def _apply_path(
    doc: dict[str, Any], op: str, path: str, value: Any, read_only: frozenset[str]
) -> None:
    match = _PATH.match(path.strip())
    if match is None:
        raise PatchError(f"{path!r} is not an attribute path.", "invalidPath")
    attr, filter_text, sub = match.group("attr"), match.group("filter"), match.group("sub")
    if attr.casefold() in read_only:
        raise PatchError(f"{attr} is read-only.", "mutability")
    key = key_of(doc, attr)
    if filter_text is None:
        if sub is None:
            _on_attribute(doc, key, op, value)
        else:
            parent = doc.get(key)
            if op == "remove":
                if isinstance(parent, dict):
                    parent.pop(key_of(parent, sub), None)
                    if not parent:
                        doc.pop(key)
                elif isinstance(parent, list):
                    for item in parent:
                        if isinstance(item, dict):
                            item.pop(key_of(item, sub), None)
                return
            if isinstance(parent, list):
                for item in parent:
                    if isinstance(item, dict):
                        item[key_of(item, sub)] = value
                return
            if not isinstance(parent, dict):
                parent = doc[key] = {}
            _on_attribute(parent, key_of(parent, sub), op, value)
        return
    try:
        node = parse(filter_text)
    except FilterError as exc:
        raise PatchError(str(exc), "invalidFilter") from None
    items = doc.get(key)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise PatchError(f"{attr} is not multi-valued: it takes no [filter].", "invalidPath")
    chosen = [item for item in items if matches(item, node)]
    if op == "remove":
        if sub is None:
            doc[key] = [item for item in items if item not in chosen]
        else:
            for item in chosen:
                if isinstance(item, dict):
                    item.pop(key_of(item, sub), None)
        if not doc[key]:
            doc.pop(key)
        return
    if not chosen:
        # Entra ID adds (or replaces) `emails[type eq "work"].value` on a user with no work
        # address: the value the filter describes is created. A whole value is not.
        created = _value_from_filter(node) if sub is not None else None
        if created is None:
            raise PatchError(f"No value of {attr} matches [{filter_text}].", "noTarget")
        items.append(created)
        doc[key] = items
        chosen = [created]
    for item in chosen:
        if sub is not None:
            item[key_of(item, sub)] = value
        elif isinstance(value, dict):
            item.update(value)
        else:
            raise PatchError(f"A value of {attr} is an object.")


def _value_from_filter(node: Node) -> dict[str, Any] | None:
    """`type eq "work"` -> {"type": "work"}: the value a filter describes, if it is that simple."""
    if isinstance(node, Compare) and node.op == "eq" and "." not in node.path:
        return {node.path: node.value}
    if isinstance(node, And):
        left, right = _value_from_filter(node.left), _value_from_filter(node.right)
        if left is not None and right is not None:
            return {**left, **right}
    return None


def _on_attribute(doc: dict[str, Any], key: str, op: str, value: Any) -> None:
    current = doc.get(key)
    if op == "remove":
        if isinstance(current, list) and isinstance(value, list):
            # Entra ID: remove these members (the value lists them).
            gone = [v for v in value if isinstance(v, dict)]
            doc[key] = [item for item in current if not any(_same(item, g) for g in gone)]
            if not doc[key]:
                doc.pop(key)
            return
        doc.pop(key, None)
        return
    if op == "add" and isinstance(current, list):
        for item in value if isinstance(value, list) else [value]:
            if not any(_same(existing, item) for existing in current):
                current.append(item)
        return
    if op == "add" and isinstance(current, dict) and isinstance(value, dict):
        current.update(value)
        return
    doc[key] = value


def _same(existing: Any, item: Any) -> bool:
    """Two values of a multi-valued attribute are one when their `value` is (else equal)."""
    if isinstance(existing, dict) and isinstance(item, dict):
        left, right = get(existing, "value"), get(item, "value")
        if left is not None and right is not None:
            return str(left).casefold() == str(right).casefold()
    return bool(existing == item)
