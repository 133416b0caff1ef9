"""Property test: any of these mutations of the reference config is reported, cleanly, without leaks.

Mutations: delete a required key, give a typed value the wrong type, insert an unknown key,
duplicate a key, or replace any string with a secret-looking value. For each mutated YAML text the
validator must say invalid (exit 1) with at least one error, every error at a real line, and no
output may contain the secret or any 8-character piece of it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import re
import string
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deedbox.commands import validate as cmd
from deedbox.config import check_text
from deedbox.config.yamlread import parse

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = parse((ROOT / "backup.yaml").read_text()).data
FREE_FORM = {"args", "equals"}  # anything is allowed below these keys
REQUIRED = [("version",), ("name",), ("source",), ("source", "account"), ("source", "convex", "url"),
            ("destination",), ("destination", "immutability", "days"), ("destination", "immutability", "mode"),
            ("backups", "backend", "schedule"), ("backups", "secrets", "keys"), ("runner", "kind"),
            ("drills", "schedule"), ("drills", "checks", 0, "expect"), ("source", "media", "classes"),
            ("source", "media", "classes", "images", "prefix")]


def leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in leaves(v, path + (k,))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in leaves(v, path + (i,))]
    return [(path, value)]


def mappings(value: Any, path: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(value, dict):
        out.append(path)
        for k, v in value.items():
            out += mappings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += mappings(v, path + (i,))
    return out


LEAVES = leaves(REFERENCE)
TYPED = [(p, v) for p, v in LEAVES if not FREE_FORM & set(map(str, p))]
STRINGS = [p for p, v in LEAVES if isinstance(v, str)]
CLOSED = [p for p in mappings(REFERENCE) if not FREE_FORM & set(map(str, p)) and p[-1:] != ("classes",)]

ALNUM = string.ascii_letters + string.digits
body = st.text(alphabet=ALNUM, min_size=24, max_size=40)
secrets = st.one_of(
    st.builds(lambda b, p: p + b, body, st.sampled_from(["sk_live_", "sk_test_", "rk_live_", "whsec_"])),
    st.builds(lambda b, p: p + b.upper()[:16].ljust(16, "Q"), body, st.sampled_from(["AKIA", "ASIA"])),
    st.builds(lambda b: "-----BEGIN PRIVATE KEY-----\n" + b + "\n-----END PRIVATE KEY-----", body),
    st.builds(lambda a, b, c: f"eyJ{a}.eyJ{b}.{c}", body, body, body),
    st.builds(lambda n, b: f"prod:{n.lower()[:12]}|{b}", body, body),
    st.builds(lambda b: base64.b64encode(hashlib.sha256(b.encode()).digest()).decode().rstrip("="), body).filter(
        lambda s: sum(c.isdigit() for c in s) >= 2),  # 43 random-looking base64 characters
)


def put(doc: Any, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        doc = doc[part]
    doc[path[-1]] = value


def delete(doc: Any, path: tuple) -> None:
    for part in path[:-1]:
        doc = doc[part]
    del doc[path[-1]]


def dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1000)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str | None]:
    """A mutated reference document as YAML text, and the secret it contains (if any)."""
    doc = yaml.safe_load(dump(REFERENCE))  # a deep copy with the same shape
    kind = draw(st.sampled_from(["delete", "type", "unknown", "duplicate", "secret", "secret"]))
    secret = None
    if kind == "delete":
        delete(doc, draw(st.sampled_from(REQUIRED)))
    elif kind == "type":
        path, value = draw(st.sampled_from(TYPED))
        put(doc, path, [1, 2] if isinstance(value, str) else {"x": 1})
    elif kind == "unknown":
        target = doc
        for part in draw(st.sampled_from(CLOSED)):
            target = target[part]
        target[draw(st.from_regex(r"\Az[a-z_]{2,12}\Z"))] = draw(st.one_of(st.integers(), st.text(ALNUM, max_size=10)))
    elif kind == "secret":
        secret = draw(secrets)
        if draw(st.booleans()):
            put(doc, draw(st.sampled_from(STRINGS)), secret)
        else:  # as a key, where the path would show it
            target = doc
            for part in draw(st.sampled_from(mappings(REFERENCE))):
                target = target[part]
            target[secret] = 1
    text = dump(doc)
    if kind == "duplicate":
        lines = text.splitlines()
        candidates = [i for i, line in enumerate(lines) if re.match(r"^ *[a-z_]+: \S", line)]
        i = draw(st.sampled_from(candidates))
        lines.insert(i + 1, lines[i])
        text = "\n".join(lines) + "\n"
    return text, secret


def pieces(secret: str, size: int = 8) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


def assert_no_leak(output: str, secret: str | None) -> None:
    if secret:
        assert not [p for p in pieces(secret) if p in output]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_are_reported_in_process(case: tuple[str, str | None]) -> None:
    text, secret = case
    result = check_text(text)
    assert not result.valid and result.errors
    assert all(d.line >= 1 and d.column >= 1 for d in result.errors)
    for report in cmd.REPORTERS.values():
        out = io.StringIO()
        report(result, out)
        assert_no_leak(out.getvalue(), secret)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "backup.yaml"
        path.write_text(text)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert cmd.run(config=path, format="json") == 1


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated().filter(lambda case: case[1] is not None) | mutated())
def test_mutations_through_the_cli(case: tuple[str, str | None]) -> None:
    text, secret = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "backup.yaml"
        path.write_text(text)
        run = subprocess.run([str(Path(sys.executable).with_name("deedbox")), "validate", "-c", str(path),
                              "--format", "github"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and run.stderr == ""
    assert run.stdout.startswith("::error file=")
    assert_no_leak(run.stdout + run.stderr, secret)
