"""Legacy snapshots typed as convex-backend's import types them, so they digest like uniform ones.

The rules are ``GeneratedSchema::apply`` / ``ExportContext::apply_inner``
(crates/shape_inference/src/export_context.rs) and ``parse_generated_schema``
(crates/application/src/snapshot_import/parse.rs); the legacy fixtures come from
``tests.support.snapshots``, an independent port of the legacy exporter (shape inference,
pretty.rs printer, ``ExportContext::of_object``; crates/exports/src/lib.rs ``write_table`` as of
e48298f5b^, the commit before "Change the zip export format to be uniform"). Shape lines marked
"verbatim" are copied from convex-backend sources (path and commit given).
"""

import base64
import io
import json
import logging
import math
import struct
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deedbox.convex.canonical import LegacyTyper, canonical_legacy
from deedbox.convex.shapes import parse_context, parse_shape
from deedbox.convex.snapshot import content_summary
from deedbox.errors import SnapshotError
from tests.support.snapshots import IdMaker, Table, legacy, make_id, shape_config, snapshot_bytes, table_shape

ids = IdMaker(23)
T = 10001
SHAPE_OF_V = '{{"_creationTime": normalfloat64, "_id": id<10001>, "v": {}}}'


def summary(tables, **kw):
    return {t.name: (t.count, t.digest) for t in content_summary(io.BytesIO(snapshot_bytes(tables, **kw))).tables}


def uniform_of(docs, number=T):
    return summary([Table("t", number, docs)])["t"]


def legacy_of(rows, schema=None, *, number=T, with_schema=True):
    """A legacy table from legacy JSON rows (dicts, or bytes taken as they are) and schema lines
    (line 1 a shape string, then override objects)."""
    raw = [r if isinstance(r, bytes) else json.dumps(r).encode() for r in rows]
    lines = [json.dumps(schema[0]), *(json.dumps(o) for o in schema[1:])] if schema else None
    return summary([Table("t", number, raw_lines=raw, schema_lines=lines)], with_schema=with_schema)["t"]


def doc(v, i=0, **extra):
    return {"_id": make_id(T, bytes([i]) * 16), "_creationTime": 1.7e12 + i, "v": v, **extra}


def schema_lines_of(data: bytes, table: str = "t") -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(f"{table}/generated_schema.jsonl").decode().splitlines()


# ---- the same typed data, exported uniform and legacy ------------------------------------------------
def rich_docs(n=40):
    """Int64, floats incl. -0.0/NaN/+-inf, bytes, number-looking strings, nested arrays and objects,
    optional fields, ids, records (non-identifier keys, > 64 fields)."""
    other = [make_id(10002, bytes([i]) * 16) for i in range(20)]  # > 16 literals contract to id<10002>
    specials = [1.0, -0.0, math.nan, math.inf, -math.inf, 2.5, 0.0, 1e300]
    strings = ["123", "NaN", "Infinity", "-Infinity", "AAE=", "", "x y", "$dollar", "hello", "-0"]
    rows = []
    for i in range(n):
        row = {
            "n": [0, 1, -(2**63), 2**63 - 1, 42][i % 5],
            "f": specials[i % len(specials)],
            "b": [b"", b"\x00\xff", b"hi there"][i % 3],
            "s": strings[i % len(strings)],
            "ns": [i, strings[i % len(strings)]][i % 2],  # int64 | strings: needs overrides
            "bs": [b"\x01\x02", "AQI="][i % 2],  # bytes | a string spelling the same base64
            "fs": [math.inf, "Infinity", 3.5][i % 3],  # float64 | string
            "arr": [[1, "1", 2.0, b"\x07"], [], [None, True, [math.nan]], ["a", {"k": 5}]][i % 4],
            "obj": {"k": i, "deep": {"x": [b"z", -0.0]}, **({"opt": "o"} if i % 3 else {})},
            "rec": {"a key": i, "another-key": str(i), "": b"\x00"},
            "wide": {f"k{j}": j for j in range(65 if i % 2 else 3)},
            "ref": other[i % 20],
            "mixed": [None, True, 1, 1.5, "s", b"b", [1], {"a": 1}][i % 8],
        }
        if i % 4 == 0:
            row["sometimes"] = math.nan if i % 8 else 7
        # > 16 distinct field sets: the union contracts into one object with optional fields
        row.update({f"o{j}": [j, str(j)][i % 2] for j in range(5) if i >> j & 1})
        rows.append({"_id": ids(T), "_creationTime": 1.7e12 + i * 0.5, **row})
    return rows


def test_rich_tables_exported_uniform_and_legacy_digest_identically():
    few = [{"_id": ids(10003), "_creationTime": 1.0 + i, "v": [i, "i"][i % 2]} for i in range(3)]
    tables = [Table("rich", T, rich_docs()), Table("few", 10003, few), Table("empty", 10004, [])]
    legacy_zip = snapshot_bytes(tables, encoding="legacy")
    uni = content_summary(io.BytesIO(snapshot_bytes(tables)))
    leg = content_summary(io.BytesIO(legacy_zip))
    assert leg.encoding == "legacy"
    assert [(t.name, t.count, t.digest) for t in uni.tables] == [(t.name, t.count, t.digest) for t in leg.tables]
    # the fixture really is a legacy one: real printer spelling, overrides where needed
    rich = schema_lines_of(legacy_zip, "rich")
    shape = json.loads(rich[0])
    assert '"_id": id<10001>' in shape and '"_creationTime": normalfloat64' in shape
    assert '"ref": id<10002>' in shape and '"sometimes"?: ' in shape and "record<" in shape
    assert len(rich) > 1 and all(len(json.loads(line)) == 1 for line in rich[1:])
    assert '"_id": "' in json.loads(schema_lines_of(legacy_zip, "few")[0])  # 3 ids: string literals
    assert schema_lines_of(legacy_zip, "empty") == ['"never"']


def test_shuffled_legacy_documents_digest_the_same():
    tables = [Table("rich", T, rich_docs(30))]
    assert summary(tables, encoding="legacy") == summary(tables, encoding="legacy", shuffle_seed=5) == \
        summary(tables)


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-0.0, math.nan, math.inf, -math.inf]),
    st.binary(max_size=6),
    st.sampled_from(["", "a", "x y", "1", "-5", "NaN", "Infinity", "-Infinity", "AAE=", "AA==", "$x", "__"]),
    st.text(max_size=5),
)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["a", "b", "c", "x y", "n", ""]), inner, max_size=3)), max_leaves=10)
_rows = st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _values, max_size=3), max_size=25)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rows)
def test_random_tables_digest_identically_in_both_encodings(rows):
    maker = IdMaker(len(rows))
    docs = [{"_id": maker(T), "_creationTime": 1.7e12 + i, **r} for i, r in enumerate(rows)]
    assert summary([Table("t", T, docs)], encoding="legacy") == summary([Table("t", T, docs)])


# ---- shape lines copied verbatim from convex-backend ------------------------------------------------
def test_discriminated_union_from_export_context_rs():
    # verbatim: e48298f5b^:crates/shape_inference/src/export_context.rs, test_discriminated_union
    shape = ('{"d": int64, "f": {"d": int64, "v": int64} | {"e": int64, "v": string}} | '
             '{"e": int64, "f": {"d": int64, "v": int64} | {"e": int64, "v": int64}}')
    objs = [{"d": 1, "f": {"d": 1, "v": 0}}, {"d": 1, "f": {"e": 1, "v": "$_[]+=+"}},
            {"e": 1, "f": {"d": 1, "v": 0}}, {"e": 1, "f": {"e": 1, "v": 0}}]
    docs = [{"_id": make_id(T, bytes([i + 1]) * 16), "_creationTime": 1.0 + i, **o} for i, o in enumerate(objs)]
    # the test's contexts: obj1, obj3, obj4 need {"f": {"v": Int64}}, obj2 is Infer
    overrides = [{docs[i]["_id"]: {"f": {"v": "int64"}}} for i in (0, 2, 3)]
    rows = [legacy(d) for d in docs]
    assert legacy_of(rows, [shape, *overrides]) == uniform_of(docs)
    # without the overrides f.v is ambiguous (int64 | string): the strings "0" stay strings
    as_strings = [dict(d, f=dict(d["f"], v=str(d["f"]["v"]))) if i != 1 else d for i, d in enumerate(docs)]
    assert legacy_of(rows, [shape]) == uniform_of(as_strings) != uniform_of(docs)


def test_discriminated_union_is_reproduced_by_the_fixture_port():
    # the port of the shape inference gives the Rust test's string under its SmallTestConfig
    # (e48298f5b^:crates/shape_inference/src/testing/mod.rs: 2 union members, 2 fields, <= 4 letters)
    from tests.support.snapshots import _structural, print_shape
    objs = [{"d": 1, "f": {"d": 1, "v": 0}}, {"d": 1, "f": {"e": 1, "v": "$_[]+=+"}},
            {"e": 1, "f": {"d": 1, "v": 0}}, {"e": 1, "f": {"e": 1, "v": 0}}]
    with shape_config(2, 2, lambda s: len(s) <= 4 and s.isascii() and s.isalpha() or s == ""):
        text = print_shape(_structural(table_shape(objs)))
    assert text == ('{"d": int64, "f": {"d": int64, "v": int64} | {"e": int64, "v": string}} | '
                    '{"e": int64, "f": {"d": int64, "v": int64} | {"e": int64, "v": int64}}')


@pytest.mark.parametrize("foo, template, override", [
    # verbatim (with "{id_v6}" filled in): e48298f5b^:crates/exports/src/tests.rs, test_export_zip
    (1, '{{"_creationTime": normalfloat64, "_id": "{id_v6}", "foo": int64}}', None),
    ([1, "1"], '{{"_creationTime": normalfloat64, "_id": "{id_v6}", "foo": array<int64 | field_name>}}',
     {"foo": ["int64", "infer"]}),
    ("1", '{{"_creationTime": normalfloat64, "_id": "{id_v6}", "foo": field_name}}', None),
])
def test_export_zip_tables_from_exports_tests_rs(foo, template, override):
    d = {"_id": ids(T), "_creationTime": 1_700_000_000_123.5, "foo": foo}
    schema = [template.format(id_v6=d["_id"])] + ([{d["_id"]: override}] if override else [])
    assert legacy_of([legacy(d)], schema) == uniform_of([d])
    # and the fixture writer writes exactly these lines for this document
    lines = schema_lines_of(snapshot_bytes([Table("t", T, [d])], encoding="legacy"))
    assert lines == [json.dumps(schema[0]), *(json.dumps(o, separators=(",", ":")) for o in schema[1:])]


def test_component_table_from_application_exports_tests_rs():
    # verbatim ("{id}" filled in): e48298f5b^:crates/application/src/exports/tests.rs,
    # write_test_data_in_component; "text" is the component's path prefix
    d = {"_id": ids(T), "_creationTime": 1.5, "channel": "c", "text": "_components/component/"}
    line = f'{{"_creationTime": normalfloat64, "_id": "{d["_id"]}", "channel": "c", "text": field_name}}'
    assert legacy_of([legacy(d)], [line]) == uniform_of([d])
    assert schema_lines_of(snapshot_bytes([Table("t", T, [d])], encoding="legacy")) == [json.dumps(line)]


def test_union_of_objects_from_pretty_rs():
    # verbatim: ba16e0638^:crates/shape_inference/src/pretty.rs, test_from_str_structural_union
    shape = ('{"location": {"city": string, "country": string} | {"country": string}} | {"name": string, '
             '"location": {"city": string, "country": string} | {"country": string}}')
    docs = [doc(None, 1, location={"city": "Paris", "country": "1"}),
            doc(None, 2, location={"country": "2"}, name="3")]
    for d in docs:
        del d["v"]
    assert legacy_of([legacy(d) for d in docs], [shape]) == uniform_of(docs)


def test_empty_table_from_the_cron_jobs_demo_zip():
    # verbatim: npm-packages/demos/cron-jobs/test.zip (HEAD), messages/generated_schema.jsonl is '"never"'
    assert legacy_of([], ["never"]) == uniform_of([]) == (0, "0" * 64)


# ---- each apply rule -------------------------------------------------------------------------------
def test_a_json_number_is_always_a_float64():
    # apply_inner: JsonValue::Number -> n.as_f64(), whatever the shape says
    rows = [b'{"_id": "%s", "_creationTime": 1, "v": 5}' % doc(0)["_id"].encode()]
    got = legacy_of(rows, [SHAPE_OF_V.format("int64")])
    assert got == uniform_of([dict(doc(5.0), _creationTime=1.0)])
    assert got != uniform_of([dict(doc(5), _creationTime=1.0)])


@pytest.mark.parametrize("shape, exported, typed", [
    ("int64", "5", 5),  # Int64 -> ExportContext::Int64
    ("int64 | null", "-9223372036854775808", -(2**63)),
    ("int64", "+007", 7),  # Rust i64 parse accepts a sign and leading zeros
    ("inf", "Infinity", math.inf),  # PositiveInf -> Float64Inf
    ("-inf", "-Infinity", -math.inf),
    ("-inf | inf | normalfloat64", "Infinity", math.inf),  # both infinities give the same context
    ("bytes", "AAE=", b"\x00\x01"),  # Bytes -> ExportContext::Bytes
    ("bytes | null", "AAE", b"\x00\x01"),  # base64 0.13: padding optional
    ("string", "5", "5"),  # String / literal / id / field_name -> Infer -> a string
    ('"abc"', "abc", "abc"),
    ("field_name", "NaN", "NaN"),
    ("id<10001> | null", make_id(T, bytes(16)), make_id(T, bytes(16))),
    ("array<int64>", ["1", "2"], [1, 2]),  # arrays recurse with the element shape
    ('{"k": bytes}', {"k": "AAE="}, {"k": b"\x00\x01"}),  # objects recurse with the field shape
    ('{"k": int64}', {"other": "5"}, {"other": "5"}),  # a field not in the shape: no context -> string
    ("record<field_name, int64>", {"a b": "5", "": "6"}, {"a b": 5, "": 6}),  # record values typed by V
    ("record<field_name, bytes> | null", {"x": "AAE="}, {"x": b"\x00\x01"}),
    ('{"a": int64} | {"b": bytes}', {"b": "AAE="}, {"b": b"\x00\x01"}),  # union of objects: per field
    ("array<array<-inf>>", [["-Infinity"]], [[-math.inf]]),
])
def test_infer_uses_the_one_string_decoding_the_shape_allows(shape, exported, typed):
    assert legacy_of([doc(exported)], [SHAPE_OF_V.format(shape)]) == uniform_of([doc(typed)])


@pytest.mark.parametrize("shape, exported, not_this", [
    ("float64", "NaN", math.nan),  # Float64 and NaN give two contexts: deliberately ambiguous
    ("NaN", "NaN", math.nan),
    ("NaN | normalfloat64", "NaN", math.nan),
    ("float64", "Infinity", math.inf),
    ("-inf | NaN", "-Infinity", -math.inf),
    ("int64 | string", "5", 5),
    ("int64 | bytes", "5", 5),
    ("bytes | field_name", "AAE=", b"\x00\x01"),
    ("unknown", "5", 5),  # unknown gives all five
    ("record<field_name, int64 | string>", {"k": "5"}, {"k": 5}),
    ('{"a": int64} | {"a": string, "b": null}', {"a": "5"}, {"a": 5}),  # fields of both members
])
def test_an_ambiguous_string_without_override_stays_a_string(shape, exported, not_this):
    got = legacy_of([doc(exported)], [SHAPE_OF_V.format(shape)])
    assert got == uniform_of([doc(exported)])
    assert got != uniform_of([doc(not_this)])


PAYLOAD_NAN = struct.pack("<Q", 0x7FF0000000000001)  # a signalling NaN: the context keeps its bytes


@pytest.mark.parametrize("shape, exported, context, typed", [
    ("float64", "Infinity", "float64inf", math.inf),
    ("float64 | string", "-Infinity", "float64inf", -math.inf),
    ("float64", "NaN", {"$float64NaN": base64.b64encode(struct.pack("<d", math.nan)).decode()}, math.nan),
    ("NaN", "NaN", {"$float64NaN": base64.b64encode(PAYLOAD_NAN).decode()}, math.nan),
    ("int64 | string", "5", "int64", 5),
    ("unknown", "-12", "int64", -12),
    ("bytes | string", "AAE=", "bytes", b"\x00\x01"),
    ("int64", "AAE=", "bytes", b"\x00\x01"),  # an explicit context wins over the shape
    ("string", "5", "infer", "5"),
    ("array<int64 | field_name>", ["1", "1"], ["int64", "infer"], [1, "1"]),
    ('{"f": {"v": int64 | string}}', {"f": {"v": "0"}}, {"f": {"v": "int64"}}, {"f": {"v": 0}}),
    ("record<field_name, int64 | bytes>", {"x": "5", "y": "AAE="}, {"x": "int64", "y": "bytes"},
     {"x": 5, "y": b"\x00\x01"}),
])
def test_override_contexts_decide(shape, exported, context, typed):
    d = doc(exported)
    got = legacy_of([d], [SHAPE_OF_V.format(shape), {d["_id"]: {"v": context}}])
    assert got == uniform_of([doc(typed)])
    if context != "infer":  # the override is what made the difference
        try:
            without = legacy_of([d], [SHAPE_OF_V.format(shape)])
        except SnapshotError:  # e.g. "AAE=" under int64 alone: the import would fail
            without = None
        assert without != got


def test_an_override_is_used_once_per_id():
    # GeneratedSchema::apply takes it with overrides.remove(&id): a second copy is inferred
    # (a snapshot holding the same _id twice is refused by the reader: typed directly)
    d = doc("5")
    typer = LegacyTyper(parse_shape(SHAPE_OF_V.format("int64 | string")), {d["_id"]: parse_context({"v": "int64"})})
    first, second = canonical_legacy(d, typer), canonical_legacy(d, typer)
    assert b'"v":5' in first and b'"v":"5"' in second


def test_the_last_override_line_for_an_id_wins():
    d = doc("AAE=")
    got = legacy_of([d], [SHAPE_OF_V.format("unknown"), {d["_id"]: {"v": "int64"}}, {d["_id"]: {"v": "bytes"}}])
    assert got == uniform_of([doc(b"\x00\x01")])


@pytest.mark.parametrize("shape, exported, context", [
    ("int64", "x", None), ("int64", "1.5", None), ("int64", " 1", None), ("int64", "9223372036854775808", None),
    ("int64", "", None), ("inf", "NaN", None), ("bytes", "A", None), ("bytes", "AB==", None),
    ("float64", "nan", {"$float64NaN": base64.b64encode(struct.pack("<d", math.nan)).decode()}),
    ("float64", "NaN", {"$float64NaN": base64.b64encode(struct.pack("<d", 1.0)).decode()}),  # not a NaN
    ("string", "5", ["int64"]),  # an array context on a string
    ("array<int64>", ["1", "2"], ["int64"]),  # lengths differ
    ("array<int64>", ["1"], "int64"),
    ('{"k": int64}', {"k": "1"}, "bytes"),
])
def test_what_the_import_would_refuse_is_an_error(shape, exported, context):
    d = doc(exported)
    schema = [SHAPE_OF_V.format(shape)] + ([{d["_id"]: {"v": context}}] if context is not None else [])
    with pytest.raises(SnapshotError, match=r"^t/documents.jsonl line 1: value not valid in Convex"):
        legacy_of([d], schema)


def test_a_top_level_context_that_is_not_an_object_context_is_an_error():
    d = doc("5")
    with pytest.raises(SnapshotError, match="unsupported shape hint for object value"):
        legacy_of([d], [SHAPE_OF_V.format("string"), {d["_id"]: "int64"}])


@pytest.mark.parametrize("line", [b'"v": 1e400', b'"$v": 1', b'"v": {"\\u0001": 1}'])
def test_numbers_out_of_range_and_invalid_field_names_are_errors(line):
    row = b'{"_id": "%s", "_creationTime": 1.0, %s}' % (doc(0)["_id"].encode(), line)
    with pytest.raises(SnapshotError, match="value not valid in Convex"):
        legacy_of([row], ["unknown"])


def test_without_generated_schema_the_shape_is_unknown(caplog):
    # GeneratedSchema::apply with no schema: ExportContext::Infer with the unknown shape
    rows = [doc("5"), doc(["AAE=", "Infinity"], 1), doc(3, 2)]
    typed = [doc("5"), doc(["AAE=", "Infinity"], 1), doc(3.0, 2)]
    assert legacy_of(rows, with_schema=False) == uniform_of(typed)
    assert "undetermined" not in caplog.text


def test_an_unreadable_shape_is_read_as_no_schema_with_warnings(caplog):
    caplog.set_level(logging.WARNING)
    rows = [doc("5")]
    assert legacy_of(rows, ['{"v": nan}']) == uniform_of(rows)
    assert "shape not understood (unexpected token at position 6: 'nan}')" in caplog.text
    assert "2 values of undetermined type" in caplog.text  # _id and v: every string counts


def test_bad_override_lines_are_skipped_with_a_warning(caplog):
    caplog.set_level(logging.WARNING)
    d = doc("5")
    schema = [SHAPE_OF_V.format("int64 | string"), {d["_id"]: {"v": "nan"}}, {"a": 1, "b": 2},
              {"not-an-id": {"v": "int64"}}, {d["_id"]: {"v": "int64"}}]
    assert legacy_of([d], schema) == uniform_of([doc(5)])
    assert "line 2 ignored: invalid export context nan" in caplog.text
    assert "line 3 ignored: override line should be an object with one item" in caplog.text
    assert "line 4 ignored: not a Convex id" in caplog.text
