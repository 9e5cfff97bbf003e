"""The pure parts of SCIM: filters parsed into trees and PATCH applied to JSON documents."""

from __future__ import annotations

import pytest

from headway.directory.scim.filter import (
    And,
    Compare,
    FilterError,
    Not,
    Or,
    Present,
    ValuePath,
    parse,
)
from headway.directory.scim.patch import PatchError, apply, matches


def test_filters_parse_with_precedence_and_grouping() -> None:
    assert parse('userName eq "ada@x.test"') == Compare("userName", "eq", "ada@x.test")
    tree = parse("a eq 1 or b eq true and not (c pr)")
    assert tree == Or(Compare("a", "eq", 1), And(Compare("b", "eq", True), Not(Present("c"))))
    assert parse('emails[type eq "work" and value co "@x"]') == ValuePath(
        "emails", And(Compare("type", "eq", "work"), Compare("value", "co", "@x"))
    )
    assert parse('title EQ "say \\"hi\\""') == Compare("title", "eq", 'say "hi"')
    assert parse('meta.lastModified gt "2027-01-01T00:00:00Z"') == Compare(
        "meta.lastModified", "gt", "2027-01-01T00:00:00Z"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "userName eq",
        'userName is "x"',
        "(a eq 1",
        "a eq unquoted",
        'emails[type eq "w"',
        "a eq 1 b",
    ],
)
def test_bad_filters_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(FilterError):
        parse(text)


def test_value_filters_match_case_insensitively() -> None:
    item = {"type": "Work", "value": "Ada@X.test", "primary": True}
    assert matches(item, parse('type eq "work"'))
    assert matches(item, parse('value ew "@x.test" and primary eq true'))
    assert not matches(item, parse('type ne "work"'))


def test_patch_add_replace_remove_on_a_document() -> None:
    doc = {"userName": "ada", "emails": [{"type": "work", "value": "a@x.test"}]}
    changed = apply(
        doc,
        [
            {"op": "Add", "path": "emails", "value": [{"type": "home", "value": "a@home.test"}]},
            {"op": "replace", "path": "name.givenName", "value": "Ada"},
            {"op": "replace", "value": {"DISPLAYNAME": "Ada L", "name.familyName": "Lovelace"}},
            {"op": "remove", "path": 'emails[type eq "work"]'},
        ],
    )
    assert changed["emails"] == [{"type": "home", "value": "a@home.test"}]
    assert changed["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert changed["displayName"] == "Ada L"
    assert doc["emails"] == [{"type": "work", "value": "a@x.test"}]  # the input is untouched


def test_patch_creates_a_value_a_simple_filter_describes() -> None:
    changed = apply(
        {}, [{"op": "add", "path": 'emails[type eq "work"].value', "value": "w@x.test"}]
    )
    assert changed["emails"] == [{"type": "work", "value": "w@x.test"}]


def test_patch_removes_members_given_as_the_value() -> None:
    doc = {"members": [{"value": "1"}, {"value": "2"}, {"value": "3"}]}
    changed = apply(doc, [{"op": "remove", "path": "members", "value": [{"value": "2"}]}])
    assert changed["members"] == [{"value": "1"}, {"value": "3"}]
    gone = apply(changed, [{"op": "remove", "path": 'members[value eq "1"]'}])
    assert gone["members"] == [{"value": "3"}]


@pytest.mark.parametrize(
    ("operations", "kind"),
    [
        ([], "invalidSyntax"),
        ([{"op": "move", "path": "a"}], "invalidSyntax"),
        ([{"op": "remove"}], "noTarget"),
        (
            [{"op": "replace", "path": 'emails[type eq "home"]', "value": {"value": "x"}}],
            "noTarget",
        ),
        ([{"op": "replace", "path": "id", "value": "x"}], "mutability"),
        ([{"op": "replace", "path": "a b", "value": 1}], "invalidPath"),
    ],
)
def test_patches_that_cannot_apply_say_why(operations: list[object], kind: str) -> None:
    doc = {"emails": [{"type": "work", "value": "w@x.test", "primary": True}]}
    with pytest.raises(PatchError) as caught:
        apply(doc, operations, read_only=frozenset({"id"}))
    assert caught.value.scim_type == kind


def test_unknown_extensions_are_ignored_and_known_ones_kept() -> None:
    urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ops = [{"op": "add", "path": f"{urn}:department", "value": "R&D"}]
    assert apply({"userName": "a"}, ops) == {"userName": "a"}
    assert apply({"userName": "a"}, ops, extensions=(urn,))[urn] == {"department": "R&D"}
