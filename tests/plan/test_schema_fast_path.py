"""``deedbox.config.schema.conforms`` (the jsonschema-free check ``deedbox plan`` uses for a valid
config) must give jsonschema's verdict on every document: the positive and negative cases and
hundreds of one-edit mutations of the reference config (wrong types, bools for numbers, floats
for integers, unknown keys, missing keys, duplicated list items, pattern and length edges)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from deedbox.config import schema, yamlread

CASES = Path(__file__).resolve().parent.parent / "config" / "cases"
REPLACEMENTS = (None, True, False, 0, 1, -1, 1.5, 2.0, "", "x", "A" * 300, [], {}, {"zz": 1})


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, path + (i,))


def _edits(value):
    yield from REPLACEMENTS
    if isinstance(value, bool):
        yield int(value)
        yield not value
    elif isinstance(value, int):
        yield from (value + 1, value - 1, value * 1000, float(value), -value, str(value))
    elif isinstance(value, str):
        yield from (value + "x", value.upper(), value[:-1], " " + value, value + "\n", 1)
    elif isinstance(value, list) and value:
        yield value + value[:1]  # a repeated item
        yield value[1:]
        yield [value[0], "x"]
    elif isinstance(value, dict):
        yield {**value, "zz_unknown": 1}
        for k in value:
            yield {kk: vv for kk, vv in value.items() if kk != k}  # each key missing


def _set(doc, path, new):
    doc = copy.deepcopy(doc)
    if not path:
        return new
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = new
    return doc


def _mutations(doc):
    for path in _paths(doc):
        node = doc
        for p in path:
            node = node[p]
        for new in _edits(node):
            yield _set(doc, path, new)


def _jsonschema_valid(data) -> bool:
    return not any(True for _ in schema.validator().iter_errors(data))


def _documents():
    for case in sorted(CASES.glob("*/*.yaml")):
        data = yamlread.parse(case.read_text()).data
        if data is not None:
            yield case.name, data


def test_cases_get_jsonschemas_verdict():
    seen = {True: 0, False: 0}
    for name, data in _documents():
        truth = _jsonschema_valid(data)
        assert schema.conforms(data) is truth, name
        seen[truth] += 1
    assert seen[True] >= 5 and seen[False] >= 5


def test_mutations_of_the_reference_config_get_jsonschemas_verdict(reference_config_path):
    reference = yamlread.parse(reference_config_path.read_text()).data
    assert schema.conforms(reference)
    seen = {True: 0, False: 0}
    for doc in _mutations(reference):
        truth = _jsonschema_valid(doc)
        assert schema.conforms(doc) is truth, doc
        seen[truth] += 1
    assert seen[True] >= 100 and seen[False] >= 500  # both verdicts are well exercised


@pytest.mark.parametrize(("one", "two", "equal"), [
    (True, 1, False), (1, 1.0, True), (False, 0, False), ([1, True], [1, 1], False),
    ({"a": [1]}, {"a": [1.0]}, True), ("1", 1, False), ([], {}, False), (None, None, True),
])
def test_equality_is_jsonschemas(one, two, equal):
    from jsonschema._utils import equal as jsonschema_equal

    assert schema._equal(one, two) is equal is jsonschema_equal(one, two)


def test_a_keyword_it_does_not_know_makes_it_unsure(monkeypatch):
    monkeypatch.setattr(schema, "schema", lambda: {"type": "object", "if": {"required": ["a"]}})
    assert schema.conforms({}) is False  # unsure: jsonschema decides


def test_a_valid_config_does_not_import_jsonschema(reference_config_path):
    import subprocess
    import sys

    code = ("import sys; from deedbox.config import load; load(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'referencing')))")
    out = subprocess.run([sys.executable, "-c", code, str(reference_config_path)], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
