"""dataReports as Snowplow's validator writes them (iglu-scala-client's ValidatorReport over networknt 1.0.76)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from micro_dashboard.iglu import EmbeddedRegistry, IgluChecker, Resolver
from micro_dashboard.iglu.reports import java_number

SCHEMA = "iglu:com.acme/everything/jsonschema/1-0-0"
EVERYTHING = {
    "type": "object",
    "properties": {
        "targetUrl": {"type": "string"},
        "country": {"type": "string", "maxLength": 3, "minLength": 2, "pattern": "^[A-Z]+$"},
        "count": {"type": "integer", "minimum": 1, "maximum": 10},
        "price": {"type": "number", "multipleOf": 0.01, "maximum": 99.5},
        "step": {"multipleOf": 5},
        "kind": {"enum": ["add", "remove", 3, None]},
        "maybe": {"type": ["string", "null"]},
        "tags": {"type": "array", "minItems": 1, "maxItems": 2, "uniqueItems": True, "items": {"type": "string"}},
        "pair": {"type": "array", "items": [{"type": "string"}], "additionalItems": False},
        "props": {"type": "object", "minProperties": 1, "maxProperties": 1},
        "when": {"type": "string", "format": "date-time"},
        "id": {"type": "string", "format": "uuid"},
        "mail": {"type": "string", "format": "email"},
        "ip": {"type": "string", "format": "ipv4"},
        "link": {"type": "string", "format": "uri"},
        "either": {"anyOf": [{"type": "string"}, {"type": "object", "required": ["a"]}]},
        "notText": {"not": {"type": "string"}},
        "nested": {"type": "object", "properties": {"deep": {"type": "boolean"}}, "required": ["deep"],
                   "additionalProperties": False},
    },
    "required": ["targetUrl"],
    "additionalProperties": False,
}


@pytest.fixture
def checker(tmp_path: Path) -> IgluChecker:
    """Return a checker over a local registry holding one schema that uses every keyword."""
    file = tmp_path / "schemas" / "com.acme" / "everything" / "jsonschema" / "1-0-0"
    file.parent.mkdir(parents=True)
    file.write_text(json.dumps({"self": {"vendor": "com.acme", "name": "everything", "format": "jsonschema",
                                         "version": "1-0-0"}, **EVERYTHING}))
    return IgluChecker(Resolver([EmbeddedRegistry(tmp_path)]))


def reports(checker: IgluChecker, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the dataReports of data that must be invalid."""
    verdict = checker.check(SCHEMA, data)
    assert verdict.status == "invalid", verdict
    return verdict.error["dataReports"]


def report(checker: IgluChecker, data: dict[str, Any]) -> dict[str, Any]:
    """Return the one dataReport of data with one mistake (targetUrl is filled in)."""
    [only] = reports(checker, {"targetUrl": "https://a.test/", **data})
    return only


def test_a_missing_required_property_is_reported_at_its_parent_with_its_name_as_target(checker):
    assert reports(checker, {}) == [{"message": "$.targetUrl: is missing but it is required", "path": "$",
                                     "keyword": "required", "targets": ["targetUrl"]}]
    assert report(checker, {"nested": {}}) == {"message": "$.nested.deep: is missing but it is required",
                                               "path": "$.nested", "keyword": "required", "targets": ["deep"]}


def test_a_type_error_has_the_found_then_the_expected_type_as_targets(checker):
    assert reports(checker, {"targetUrl": 5}) == [{"message": "$.targetUrl: integer found, string expected",
                                                   "path": "$.targetUrl", "keyword": "type",
                                                   "targets": ["integer", "string"]}]
    assert report(checker, {"count": 1.5})["targets"] == ["number", "integer"]
    assert report(checker, {"nested": {"deep": "yes"}})["path"] == "$.nested.deep"


def test_a_type_list_is_snowplows_union_type(checker):
    assert report(checker, {"maybe": 3}) == {"message": "$.maybe: integer found, but [string, null] is required",
                                             "path": "$.maybe", "keyword": "unionType",
                                             "targets": ["integer", "[string, null]"]}


def test_unexpected_properties_are_reported_one_by_one_at_their_parent(checker):
    assert reports(checker, {"targetUrl": "x", "extra": 1, "other": 2}) == [
        {"message": f"$.{name}: is not defined in the schema and the schema does not allow additional properties",
         "path": "$", "keyword": "additionalProperties", "targets": [name]} for name in ("extra", "other")]


@pytest.mark.parametrize(("data", "message", "keyword", "targets"), [
    ({"country": "GBRX"}, "$.country: may only be 3 characters long", "maxLength", ["3"]),
    ({"country": "G"}, "$.country: must be at least 2 characters long", "minLength", ["2"]),
    ({"country": "gb"}, "$.country: does not match the regex pattern ^[A-Z]+$", "pattern", ["^[A-Z]+$"]),
    ({"count": 11}, "$.count: must have a maximum value of 10", "maximum", ["10"]),
    ({"count": 0}, "$.count: must have a minimum value of 1", "minimum", ["1"]),
    ({"price": 100}, "$.price: must have a maximum value of 99.5", "maximum", ["99.5"]),
    ({"price": 0.001}, "$.price: must be multiple of 0.01", "multipleOf", ["0.01"]),
    ({"step": 7}, "$.step: must be multiple of 5.0", "multipleOf", ["5.0"]),
    ({"kind": "keep"}, "$.kind: does not have a value in the enumeration [add, remove, 3, null]", "enum",
     ["[add, remove, 3, null]"]),
    ({"tags": []}, "$.tags: there must be a minimum of 1 items in the array", "minItems", ["1"]),
    ({"tags": ["a", "b", "c"]}, "$.tags: there must be a maximum of 2 items in the array", "maxItems", ["2"]),
    ({"tags": ["a", "a"]}, "$.tags: the items in the array must be unique", "uniqueItems", []),
    ({"pair": ["a", "b"]}, "$.pair[1]: no validator found at this index", "items", ["1"]),
    ({"props": {}}, "$.props: should have a minimum of 1 properties", "minProperties", ["1"]),
    ({"props": {"a": 1, "b": 2}}, "$.props: may only have a maximum of 1 properties", "maxProperties", ["1"]),
    ({"when": "yesterday"}, "$.when: yesterday is an invalid date-time", "dateTime", ["yesterday", "date-time"]),
    ({"id": "nope"}, "$.id: nope is an invalid uuid", "uuid", ["nope", "uuid"]),
    ({"mail": "nobody"}, "$.mail: does not match the nobody pattern email", "format", ["nobody", "email"]),
])
def test_each_keyword_has_snowplows_message_path_keyword_and_targets(checker, data, message, keyword, targets):
    name = next(iter(data))
    path = "$.pair" if name == "pair" else f"$.{name}"
    assert report(checker, data) == {"message": message, "path": path, "keyword": keyword, "targets": targets}


def test_pattern_formats_name_the_format_first(checker):
    for name, value in (("ip", "1.2.3"), ("link", "no scheme")):
        found = report(checker, {name: value})
        assert found["keyword"] == "format" and found["path"] == f"$.{name}"
        assert found["targets"][0] == {"ip": "ipv4", "link": "uri"}[name]
        assert found["message"].startswith(f"$.{name}: does not match the {found['targets'][0]} pattern ")


def test_any_of_reports_what_failed_inside_the_alternative_of_the_right_type(checker):
    assert reports(checker, {"targetUrl": "x", "either": 3}) == [
        {"message": f"$.either: should be valid to any of the schemas {kind}", "path": "$.either",
         "keyword": "anyOf", "targets": [kind]} for kind in ("string", "object")]
    assert reports(checker, {"targetUrl": "x", "either": {}}) == [
        {"message": "$.either: should be valid to any of the schemas string", "path": "$.either",
         "keyword": "anyOf", "targets": ["string"]},
        {"message": "$.either.a: is missing but it is required", "path": "$.either", "keyword": "required",
         "targets": ["a"]}]


def test_not_names_the_schema_it_must_not_match(checker):
    found = report(checker, {"notText": "s"})
    schema = '"#/properties/notText/not" : {"type":"string"}'
    assert found == {"message": f"$.notText: should not be valid to the schema {schema}", "path": "$.notText",
                     "keyword": "not", "targets": [schema]}


def test_decimal_multiples_are_valid_as_in_snowplow(checker):
    for price in (19.99, 0.07, 39.99, 24.49):
        assert checker.check(SCHEMA, {"targetUrl": "x", "price": price}).status == "valid", price


def test_readable_sentences_keep_the_propertys_own_path(checker):
    verdict = checker.check(SCHEMA, {"targetUrl": "x", "nested": {}})
    [problem] = verdict.problems
    assert problem.path == "$.nested.deep"
    assert problem.message == 'everything 1-0-0: required property "deep" is missing in $.nested'


@pytest.mark.parametrize(("value", "text"), [(5, "5"), (5.0, "5.0"), (0.01, "0.01"), (1e-5, "1.0E-5"),
                                             (12345678.0, "1.2345678E7"), (-0.5, "-0.5"), (1e21, "1.0E21")])
def test_numbers_are_written_as_java_writes_them(value, text):
    assert java_number(value) == text
