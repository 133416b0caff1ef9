import pytest

from deedbox.convex.shapes import ANY, ShapeSyntaxError, context_to_shape, parse_shape


@pytest.mark.parametrize("text, shape", [
    ("int64", ("int64",)),
    ("nan | normalfloat64 | positiveinf", ("float64",)),
    ("string | int64", ("union", (("string",), ("int64",)))),
    ('"welcome"', ("literal", "welcome")),
    ("array<bytes>", ("array", ("bytes",))),
    ("set<int64>", ("array", ("int64",))),
    ("id<users>", ("string",)),
    ("map<string, int64>", ANY),
    ("somethingNew", ANY),
    ('{"a": int64, "b"?: {"c": array<int64 | string>}, d: boolean}',
     ("object", {"a": ("int64",), "b": ("object", {"c": ("array", ("union", (("int64",), ("string",))))}),
                 "d": ("boolean",)})),
])
def test_parse(text, shape):
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["{", '{"a" int64}', "int64 int64", "array<int64"])
def test_syntax_errors(text):
    with pytest.raises(ShapeSyntaxError):
        parse_shape(text)


def test_export_contexts():
    assert context_to_shape({"n": "int64", "xs": ["infer", "bytes"]}) == \
        ("object", {"n": ("int64",), "xs": ("tuple", (ANY, ("bytes",)))})
