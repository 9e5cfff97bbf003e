"""@mentions in a comment's text (pure: no Django).

A mention is `@` and an e-mail address (`@mo@acme.test`), or `@` and the part of an address
before the `@` (`@mo`) when exactly one active person's address starts with it. Names have
spaces and repeat; addresses do not, and a person can read theirs off the people pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Not inside a word or an address (`pat@acme.test` is not a mention of `acme.test`).
MENTION = re.compile(
    r"(?<![\w.@+-])@([A-Za-z0-9][A-Za-z0-9._%+-]*(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)"
)


def handles(body: str) -> list[str]:
    """The handles mentioned in `body`, lower-cased, in order, each once."""
    found: dict[str, None] = {}
    for match in MENTION.finditer(body):
        handle = match.group(1).rstrip(".").lower()
        if handle:
            found.setdefault(handle, None)
    return list(found)


def resolve(wanted: Iterable[str], people: Iterable[tuple[int, str]]) -> dict[str, int]:
    """Match handles to people (id, e-mail): a whole address, or a unique local part."""
    by_email: dict[str, int] = {}
    by_local: dict[str, list[int]] = {}
    for pk, email in people:
        email = email.lower()
        by_email[email] = pk
        by_local.setdefault(email.split("@", 1)[0], []).append(pk)
    matched: dict[str, int] = {}
    for handle in wanted:
        if handle in by_email:
            matched[handle] = by_email[handle]
        elif "@" not in handle and len(by_local.get(handle, [])) == 1:
            matched[handle] = by_local[handle][0]
    return matched
