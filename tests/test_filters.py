"""The filter language, parsed without a database: query parameters and the search box."""

from __future__ import annotations

import pytest

from micro_dashboard.filters import (
    AnyOf,
    Column,
    Condition,
    EntityField,
    FilterError,
    Has,
    Not,
    Param,
    Text,
    Valid,
    parse_args,
    parse_search,
    typed,
)
from micro_dashboard.pipeline.fields import parse_iso_timestamp


def clauses(*pairs: tuple[str, str]) -> list:
    """Parse query pairs into their clauses."""
    return parse_args(pairs).clauses


@pytest.mark.parametrize(("text", "value"), [("7", 7), ("-2", -2), ("2.5", 2.5), ("1e3", 1000.0), ("true", True),
                                             ("false", False), ("abc", "abc"), ("7a", "7a"), ("", "")])
def test_values_are_typed_as_numbers_booleans_or_strings(text: str, value: object) -> None:
    assert typed(text) == value and type(typed(text)) is type(value)


def test_promoted_column_exact_and_operators() -> None:
    assert clauses(("app_id", "web")) == [Condition(Column("app_id"), "exact", "web")]
    assert clauses(("se_label__contains", "7")) == [Condition(Column("se_label"), "contains", "7")]
    assert clauses(("app_id__in", "a, b,7")) == [Condition(Column("app_id"), "in", ("a", "b", 7))]
    assert clauses(("user_id__isnull", "true")) == [Condition(Column("user_id"), "isnull", True)]
    assert clauses(("app_id__not", "web")) == [Not(Condition(Column("app_id"), "exact", "web"))]
    assert clauses(("se_action__gte", "b")) == [Condition(Column("se_action"), "gte", "b")]


def test_entity_fields_unstruct_and_params() -> None:
    assert clauses(("gitlab_standard.extra.foo", "bar")) == [
        Condition(EntityField("gitlab_standard", ("extra", "foo")), "exact", "bar")]
    assert clauses(("unstruct.elementClasses__contains", "b")) == [
        Condition(EntityField("unstruct", ("elementClasses",)), "contains", "b")]
    assert clauses(("param.se_va__gt", "12")) == [Condition(Param("se_va"), "gt", 12)]
    assert clauses(("has", "gitlab_standard")) == [Has("gitlab_standard")]


def test_time_range_accepts_iso_and_epoch_milliseconds() -> None:
    ms = parse_iso_timestamp("2026-11-22T05:01:01.441Z")
    assert clauses(("from", "2026-11-22T05:01:01.441Z")) == [Condition(Column("collector_tstamp"), "gte", ms)]
    assert clauses(("to", str(ms))) == [Condition(Column("collector_tstamp"), "lte", ms)]
    assert clauses(("from", "2026-11-22T05:01:01")) == clauses(("from", "2026-11-22T05:01:01Z"))


def test_reserved_names_are_not_filters() -> None:
    pairs = [(n, "1") for n in ("limit", "before", "since", "columns", "count", "timeout", "format")]
    assert parse_args(pairs).clauses == []
    assert not parse_args(pairs)


def test_valid_q_and_search_parameters() -> None:
    assert clauses(("valid", "false"), ("q", "hello")) == [Valid(False), Text("hello")]
    assert clauses(("search", "app:web")) == [Condition(Column("app_id"), "exact", "web")]


@pytest.mark.parametrize(("name", "value"), [("foo", "1"), ("app_id__bogus", "1"), ("gitlab_standard", "1"),
                                             ("param.", "1"), (".x", "1"), ("a..b", "1")])
def test_unknown_filter_names_are_named_in_the_error(name: str, value: str) -> None:
    with pytest.raises(FilterError) as raised:
        parse_args([(name, value)])
    assert str(raised.value) == f"unknown filter {name!r}" and raised.value.detail["filter"] == name


@pytest.mark.parametrize(("pair", "words"), [(("valid", "maybe"), "valid must be true or false"),
                                             (("from", "yesterday"), "from must be an ISO-8601"),
                                             (("x.y__isnull", "perhaps"), "x.y__isnull must be true or false"),
                                             (("has", ""), "has needs an entity name")])
def test_bad_values_say_what_is_expected(pair: tuple[str, str], words: str) -> None:
    with pytest.raises(FilterError, match=words):
        parse_args([pair])


def test_search_box_tokens() -> None:
    text = 'app:web event:click schema:link_click is:invalid has:gitlab_standard gitlab_standard.project_id:7 ' \
           'param.se_va:12 "two words" bare'
    assert parse_search(text).clauses == [
        Condition(Column("app_id"), "exact", "web"),
        AnyOf((Condition(Column("event_name"), "exact", "click"), Condition(Column("se_action"), "exact", "click"),
               Condition(Column("event"), "exact", "click"))),
        Condition(Column("schema"), "contains", "link_click"),
        Valid(False),
        Has("gitlab_standard"),
        Condition(EntityField("gitlab_standard", ("project_id",)), "exact", 7),
        Condition(Param("se_va"), "exact", 12),
        Text("two words"),
        Text("bare"),
    ]


def test_search_negation_quoted_values_and_operators() -> None:
    assert parse_search('-app:web -"a phrase" -has:x app:"my app"').clauses == [
        Not(Condition(Column("app_id"), "exact", "web")), Not(Text("a phrase")), Not(Has("x")),
        Condition(Column("app_id"), "exact", "my app")]
    assert parse_search("link_click.targetUrl__startswith:https is:valid").clauses == [
        Condition(EntityField("link_click", ("targetUrl",)), "startswith", "https"), Valid(True)]
    assert parse_search("  ").clauses == []


@pytest.mark.parametrize("token", ["is:maybe", "nope:x", "app:", 'app:"unclosed', '"unclosed'])
def test_unreadable_search_tokens_are_named(token: str) -> None:
    with pytest.raises(FilterError) as raised:
        parse_search(f"app:web {token}")
    assert token.split('"')[0] in str(raised.value)


@pytest.mark.parametrize(("text", "value"), [("99999999999999999999999", 1e23), ("-99999999999999999999999", -1e23),
                                             ("9223372036854775807", 2**63 - 1), ("9223372036854775808", 2.0**63),
                                             ("\u00b2", "\u00b2"), ("\u0661\u0662", "\u0661\u0662"),
                                             ("1\u00b2", "1\u00b2")])
def test_typed_never_gives_an_int_sqlite_cannot_bind(text: str, value: object) -> None:
    assert typed(text) == value and isinstance(typed(text), type(value)) and str(typed(text)) == text


@pytest.mark.parametrize("pair", [("from", "9" * 30), ("to", "-" + "9" * 17), ("collector_tstamp__gt", "9" * 5000),
                                  ("collector_tstamp__in", "1,99999999999999999999"), ("from", "\u00b2")])
def test_times_out_of_range_or_with_unicode_digits_are_named(pair: tuple[str, str]) -> None:
    with pytest.raises(FilterError) as raised:
        clauses(pair)
    assert raised.value.detail["filter"] == pair[0] and pair[0] in str(raised.value)


@pytest.mark.parametrize("name", ['gitlab_standard.a"b', "unstruct.x\x00", 'param.k"'])
def test_field_names_sqlite_cannot_hold_are_named(name: str) -> None:
    with pytest.raises(FilterError) as raised:
        clauses((name, "1"))
    assert raised.value.detail["filter"] == name
    assert clauses(("gitlab_standard.\u00b2", "1")) == [Condition(EntityField("gitlab_standard", ("\u00b2",)),
                                                                  "exact", 1)]
