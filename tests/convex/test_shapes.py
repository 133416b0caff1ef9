"""The legacy shape grammar (crates/shape_inference/src/pretty.rs) and export contexts
(crates/shape_inference/src/export_context.rs), against strings taken from convex-backend.

Sources are in the mirror of get-convex/convex-backend; tests and the legacy exporter were removed
there in 2026, so some live at older commits: e48298f5b ("Change the zip export format to be
uniform", 2026-03-10) and ba16e0638 ("Refactor", 2026-04-09, which dropped the shape tests).
"""

import base64
import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deedbox.convex.shapes import (
    ANY,
    BYTES,
    FIELD_NAME,
    FLOAT64,
    INT64,
    NAN,
    NEGATIVE_INF,
    NEGATIVE_ZERO,
    NEVER,
    NORMAL_FLOAT64,
    NULL,
    POSITIVE_INF,
    STRING,
    UNKNOWN,
    ExportContextError,
    ShapeSyntaxError,
    b64decode_standard,
    context_to_shape,
    format_shape,
    parse_context,
    parse_shape,
)
from tests.support.snapshots import IdMaker, legacy_schema_lines, make_id

ids = IdMaker(11)
ID = make_id(10001, bytes(range(16)))  # an identifier (starts with a letter): a string literal
ID_DIGIT = make_id(1, bytes(16))  # table 1: starts with "0", not an identifier


def obj(*fields):
    """("Object", ...) from (name, shape[, optional]) tuples."""
    return ("Object", tuple(sorted((f[0], f[1], f[2] if len(f) > 2 else False) for f in fields)))


def union(*members):
    return ("Union", members)


# ---- strings verbatim from convex-backend (id placeholders filled in) ------------------------------
REAL = [
    # ba16e0638^:crates/shape_inference/src/pretty.rs, test_from_str_structural_union ("used to panic")
    ('{"location": {"city": string, "country": string} | {"country": string}} | {"name": string, '
     '"location": {"city": string, "country": string} | {"country": string}}',
     union(obj(("location", union(obj(("city", STRING), ("country", STRING)), obj(("country", STRING))))),
           obj(("location", union(obj(("city", STRING), ("country", STRING)), obj(("country", STRING)))),
               ("name", STRING)))),
    # e48298f5b^:crates/shape_inference/src/export_context.rs, test_discriminated_union
    ('{"d": int64, "f": {"d": int64, "v": int64} | {"e": int64, "v": string}} | '
     '{"e": int64, "f": {"d": int64, "v": int64} | {"e": int64, "v": int64}}',
     union(obj(("d", INT64), ("f", union(obj(("d", INT64), ("v", INT64)), obj(("e", INT64), ("v", STRING))))),
           obj(("e", INT64), ("f", union(obj(("d", INT64), ("v", INT64)), obj(("e", INT64), ("v", INT64))))))),
    # e48298f5b^:crates/exports/src/tests.rs, test_export_zip (tables 0, 1, 2; "{id_v6}" filled in)
    (f'{{"_creationTime": normalfloat64, "_id": "{ID}", "foo": int64}}',
     obj(("_creationTime", NORMAL_FLOAT64), ("_id", ("StringLiteral", ID)), ("foo", INT64))),
    (f'{{"_creationTime": normalfloat64, "_id": "{ID}", "foo": array<int64 | field_name>}}',
     obj(("_creationTime", NORMAL_FLOAT64), ("_id", ("StringLiteral", ID)),
         ("foo", ("Array", union(INT64, FIELD_NAME))))),
    (f'{{"_creationTime": normalfloat64, "_id": "{ID}", "foo": field_name}}',
     obj(("_creationTime", NORMAL_FLOAT64), ("_id", ("StringLiteral", ID)), ("foo", FIELD_NAME))),
    # e48298f5b^:crates/application/src/exports/tests.rs, write_test_data_in_component ("{id}")
    (f'{{"_creationTime": normalfloat64, "_id": "{ID}", "channel": "c", "text": field_name}}',
     obj(("_creationTime", NORMAL_FLOAT64), ("_id", ("StringLiteral", ID)), ("channel", ("StringLiteral", "c")),
         ("text", FIELD_NAME))),
    # npm-packages/demos/cron-jobs/test.zip (HEAD), messages/generated_schema.jsonl: an empty table
    ("never", NEVER),
]


@pytest.mark.parametrize("text, shape", REAL)
def test_real_shape_strings_parse(text, shape):
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", [t for t, _ in REAL if not t.startswith('{"location"')])
def test_real_shape_strings_print_back_identically(text):
    # the pretty.rs test string has its object keys out of order ("name" before "location"):
    # the parser accepts that, the printer (BTreeMap order) would not write it
    assert format_shape(parse_shape(text)) == text


# ---- the units, matched as prefixes in parse_prefix's order ---------------------------------------
@pytest.mark.parametrize("text, shape", [
    ("never", NEVER), ("null", NULL), ("int64", INT64), ("float64", FLOAT64), ("-inf", NEGATIVE_INF),
    ("inf", POSITIVE_INF), ("-0", NEGATIVE_ZERO), ("NaN", NAN), ("normalfloat64", NORMAL_FLOAT64),
    ("boolean", ("Boolean",)), ("field_name", FIELD_NAME), ("string", STRING), ("bytes", BYTES),
    ("unknown", UNKNOWN), ("id<10001>", ("Id", 10001)), ("array<bytes>", ("Array", BYTES)),
    ("record<field_name, int64>", ("Record", FIELD_NAME, INT64)), ('"welcome"', ("StringLiteral", "welcome")),
    ("{}", ("Object", ())),
])
def test_each_printed_form_parses_and_prints_back(text, shape):
    assert parse_shape(text) == shape
    assert format_shape(shape) == text


def test_union_members_are_deduplicated_and_put_in_shape_enum_order():
    # ShapeEnum's derived Ord (crates/shape_inference/src/lib.rs): Int64 < NegativeInf < ... < NaN <
    # NormalFloat64 < Float64 < ... < StringLiteral < Id < FieldName < String < Bytes < Array
    text = 'array<null> | bytes | string | field_name | id<3> | "b" | "a" | NaN | -inf | int64 | null | int64'
    shape = parse_shape(text)
    assert shape == union(NULL, INT64, NEGATIVE_INF, NAN, ("StringLiteral", "a"), ("StringLiteral", "b"),
                          ("Id", 3), FIELD_NAME, STRING, BYTES, ("Array", NULL))
    assert format_shape(shape) == \
        'null | int64 | -inf | NaN | "a" | "b" | id<3> | field_name | string | bytes | array<null>'
    assert parse_shape("int64 | int64") == INT64  # one member is not a union


def test_objects_optional_fields_records_and_nesting():
    text = '{"a": int64, "b"?: {"c": array<int64 | string>}, "d": record<"x" | field_name, bytes>}'
    shape = parse_shape(text)
    assert shape == obj(("a", INT64), ("b", obj(("c", ("Array", union(INT64, STRING)))), True),
                        ("d", ("Record", union(("StringLiteral", "x"), FIELD_NAME), BYTES)))
    assert format_shape(shape) == text


def test_quirks_of_the_rust_parser_are_kept():
    # pretty.rs accepts a trailing ", " before "}" (the loop checks for "}" after consuming it)
    assert parse_shape('{"a": int64, }') == obj(("a", INT64))
    # a duplicated key: BTreeMap::insert, the last one wins
    assert parse_shape('{"a": int64, "a": string}') == obj(("a", STRING))
    # id<N> is `number.parse::<u32>()`: a leading "+" and zeros are fine
    assert parse_shape("id<+0010001>") == ("Id", 10001)
    # "inf" is tried after "int64", "-inf" before "inf"
    assert parse_shape("inf | int64 | -inf") == union(INT64, NEGATIVE_INF, POSITIVE_INF)


@pytest.mark.parametrize("literal, shape", [
    ("hello", ("StringLiteral", "hello")),  # is_valid_identifier -> a literal
    ("_x1", ("StringLiteral", "_x1")),
    (ID, ("StringLiteral", ID)),  # an id that is also an identifier stays a literal
    (ID_DIGIT, ("Id", 1)),  # DeveloperDocumentId::decode
    ("<id>", FIELD_NAME),  # non-control ASCII, no leading "$": is_valid_field_name
    ("a b", FIELD_NAME),
    ("", FIELD_NAME),  # the empty string is a valid field name
    ("__", FIELD_NAME),  # all underscores is not an identifier
    ("$x", STRING),
    ("\u00e9", STRING),
])
def test_a_quoted_literal_is_typed_by_string_literal_shape_of(literal, shape):
    # StringLiteralShape::shape_of (crates/shape_inference/src/string.rs), ProdConfig
    assert parse_shape(f'"{literal}"') == shape


@pytest.mark.parametrize("text", [
    # invented spellings of the old parser: none of them is printed by pretty.rs
    "nan", "positiveinf", "negativeinf", "negativezero", "number", "float", "Infinity", "any",
    "id", "id<users>", "set<int64>", "map<string, int64>", "object", "array", "tuple<int64>",
    # separators are exact
    "int64 |string", "int64| string", "int64 or string", "{a: int64}", '{"a":int64}', '{"a" : int64}',
    '{"a": int64,"b": int64}', "record<field_name,int64>", " int64", "int64 ", "array< int64>",
    # unfinished or trailing input
    "", "{", '{"a": int64', '{"a": int64, ', '{"a"}', "array<int64", "id<10001", '"abc', "int64 int64",
    "nullable", "-0.0", "infinity", "normalfloat64x",
    # values the Rust parser rejects (or asserts on)
    "id<0>", "id<-1>", "id<4294967296>", "id<>", "id<+>", "record<string, int64>", "record<int64, int64>",
    '{"$a": int64}', '{"a b": int64}', '{"": int64}', '{"a"?? : int64}', '{": int64}',
    "{" + ", ".join(f'"f{i}": null' for i in range(65)) + "}",  # > MAX_OBJECT_FIELDS
])
def test_anything_else_is_a_syntax_error(text):
    with pytest.raises(ShapeSyntaxError):
        parse_shape(text)


def test_syntax_errors_say_where():
    with pytest.raises(ShapeSyntaxError, match=r"^unexpected token at position 8: 'nan}'$") as err:
        parse_shape('{"_id": nan}')
    assert err.value.pos == 8
    with pytest.raises(ShapeSyntaxError, match=r"^unexpected token at position 12: 'x'$"):
        parse_shape("id<10001> | x")
    with pytest.raises(ShapeSyntaxError, match=r"^expected '>' at position 11: end of input$"):
        parse_shape("array<int64")
    assert len(str(ShapeSyntaxError("m", "x" * 100, 3))) < 70  # the excerpt is short


def test_sixty_four_fields_are_fine():
    shape = parse_shape("{" + ", ".join(f'"f{i:02}": null' for i in range(64)) + "}")
    assert len(shape[1]) == 64


# ---- the fixture writer's independent printer agrees with this parser ------------------------------
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-0.0, math.nan, math.inf, -math.inf]),
    st.binary(max_size=6),
    st.sampled_from(["", "a", "b", "x y", "1", "NaN", "Infinity", "-Infinity", "AAE=", "$x", "__", ID, ID_DIGIT]),
)
_keys = st.sampled_from(["a", "b", "c", "x y", "n"])
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=3)), max_leaves=8)
_docs = st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _values, max_size=3), max_size=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_docs)
def test_printed_shapes_of_random_tables_round_trip(rows):
    docs = [{"_id": ids(10001), "_creationTime": 1.7e12 + i, **r} for i, r in enumerate(rows)]
    text = __import__("json").loads(legacy_schema_lines(docs)[0])
    assert format_shape(parse_shape(text)) == text


# ---- export contexts: TryFrom<JsonValue> for ExportContext -------------------------------------------
NAN_B64 = base64.b64encode(struct.pack("<d", math.nan)).decode()


@pytest.mark.parametrize("value, ctx", [
    ("infer", "infer"), ("int64", "int64"), ("float64inf", "float64inf"), ("bytes", "bytes"),
    ({"$float64NaN": NAN_B64}, ("nan", struct.pack("<d", math.nan))),
    ({"$float64NaN": NAN_B64, "other": "int64"}, ("nan", struct.pack("<d", math.nan))),  # other keys dropped
    ({"$float64NaN": 1, "n": "int64"}, ("object", {"n": "int64"})),  # non-string: removed, an object
    # e48298f5b^:crates/exports/src/tests.rs: the override of table_1
    ({"foo": ["int64", "infer"]}, ("object", {"foo": ("array", ("int64", "infer"))})),
    ({"f": {"v": "int64"}}, ("object", {"f": ("object", {"v": "int64"})})),
    ([], ("array", ())), ({}, ("object", {})),
])
def test_export_contexts_are_read_as_export_context_rs_reads_them(value, ctx):
    assert parse_context(value) == ctx
    assert context_to_shape(value) == ctx  # the former name


@pytest.mark.parametrize("value", [
    # invented or wrong-case names
    "float64", "nan", "NaN", "string", "Infer", "INT64", "float64Inf", "positiveinf",
    1, None, True, {"$float64NaN": "AAAA"}, {"$float64NaN": "!!"}, {"$bad": "int64"}, ["int64", "nope"],
])
def test_other_export_contexts_are_rejected(value):
    with pytest.raises(ExportContextError):
        parse_context(value)


@pytest.mark.parametrize("text, data", [
    ("AAE=", b"\x00\x01"), ("AAE", b"\x00\x01"), ("AA==", b"\x00"), ("AA=", b"\x00"), ("AA", b"\x00"),
    ("", b""), ("AAAA", b"\x00\x00\x00"), ("+/8=", b"\xfb\xff"),
])
def test_base64_0_13_decoding_padding_is_optional(text, data):
    assert b64decode_standard(text) == data


@pytest.mark.parametrize("text", ["A", "AAAAA", "A===", "AA===", "AAE==", "AB==", "AAF=", "-_8=", "AA=A", " AA="])
def test_base64_0_13_decoding_rejects(text):
    with pytest.raises(ValueError):
        b64decode_standard(text)


def test_any_is_the_unknown_shape():
    assert ANY == UNKNOWN == parse_shape("unknown")
