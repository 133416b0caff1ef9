"""A fuzz target for the backup.yaml validator: hypothesis strategies that mutate the reference text.

``mutated_text()`` draws the reference ``backup.yaml`` as *text* and applies one to four
mutations, each drawn from what an adversarial run (1,001 mutations) found and what YAML makes
hard:

- ``insert-char``: a character at any offset; control characters (NUL, C0, DEL, C1), the
  noncharacters U+FFFE/U+FFFF, a lone surrogate, YAML's other line breaks, or any character;
- ``insert-token``: a piece of YAML syntax (indicators, anchors/aliases, tags, merge keys,
  directives, document markers, block scalars, tabs, quotes) at any offset;
- ``delete``: a span of up to 40 characters; ``delete-line``/``duplicate-line``: whole lines;
- ``huge-number``: a number replaced by, or digits inserted as, 101 to 20,000 digits (decimal,
  hex, sexagesimal, float);
- ``deep-nesting``: 63 to 100,000 ``[`` or ``{`` (closed or not), ``- `` or ``? `` chains, or
  indented mappings, inserted anywhere;
- ``swap-values``: the values of two ``key: value`` lines exchanged;
- ``replace-value``: one value replaced by a hostile or wrong one (a source-account ARN, ``../../``,
  an unknown region, aliases, tags, empty collections, a secret-looking string...);
- ``retarget`` (drawn twice as often): a value the semantic rules judge (accounts, ARNs, regions,
  prefixes, lifecycle days, lock days, RPOs, schedules, modes) replaced by another plausible or
  wrong value for its key, so the rules themselves are exercised, not only the YAML layer.

Used by ``test_fuzz.py``; run more examples locally with ``FUZZ_EXAMPLES=5000``.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_TEXT = (ROOT / "backup.yaml").read_text()

CONTROL = [chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + [
    "\x7f", "\x80", "\x9b", "\x9f", "\ufffe", "\uffff", "\ud800", "\udfff"]
LINE_BREAKS = ["\r", "\r\n", "\n", "\x85", "\u2028", "\u2029"]
ODD = ["\ufeff", "\u00a0", "\u200b", "\u202e", "é", "😀", "²", "٣"]
TOKENS = ["[", "]", "{", "}", ",", ":", ": ", "- ", "? ", "&a ", "*a", "*b ", "&a [*a]", "!!int ", "!!float ",
          "!!bool ", "!!str ", "!!binary ", "!!set ", "!!omap ", "!!timestamp ", "!!null ", "!secret ",
          "!<tag:yaml.org,2002:int> ", "<<: ", "<<: *a", "|", "|-\n  x", ">", '"', "'", "#", "%YAML 1.1\n",
          "%TAG ! tag:x,2000:\n", "---\n", "...\n", "\t", "  ", "\\", '"\\x00"', '"\\ud800"', '"\\e[31m"', "@",
          "`", "~", "null", "0x", "0o7", "1_000", ".inf", "-.nan", "1:30", "2024-01-01", "=", "<<", "? [a]: b"]
SCALARS = ["arn:aws:iam::111111111111:role/deedbox-deployer", "arn:aws:iam::111111111111:root", "../../",
           "./x/", "a//", "", "us-east-99", "eu-wset-1", "ap-west-1", "~", "null", "true", "[]", "{}", "*a", "&a x",
           "!!int x", "!!bool maybe", "0x" + "f" * 200, "1e999", "-1", "0", "rate(99999999999999999999 hours)",
           "cron(0 0 ² * ? *)", "sk_live_" + "Ab1" * 10, '"\\u0000"', "'''", "{a: [b, {c: d}]}", "<<: {}"]


def _lines(text: str) -> list[str]:
    return text.split("\n")


@st.composite
def insert_char(draw: st.DrawFn, text: str) -> tuple[str, str]:
    char = draw(st.one_of(st.sampled_from(CONTROL), st.sampled_from(LINE_BREAKS), st.sampled_from(ODD),
                          st.characters()))
    at = draw(st.integers(0, len(text)))
    return text[:at] + char + text[at:], f"insert-char U+{ord(char[0]):04X} at {at}"


@st.composite
def insert_token(draw: st.DrawFn, text: str) -> tuple[str, str]:
    token = draw(st.sampled_from(TOKENS))
    at = draw(st.integers(0, len(text)))
    return text[:at] + token + text[at:], f"insert-token {token!r} at {at}"


@st.composite
def delete(draw: st.DrawFn, text: str) -> tuple[str, str]:
    at = draw(st.integers(0, len(text)))
    n = draw(st.integers(1, 40))
    return text[:at] + text[at + n:], f"delete {n} at {at}"


@st.composite
def line_edit(draw: st.DrawFn, text: str) -> tuple[str, str]:
    lines = _lines(text)
    i = draw(st.integers(0, len(lines) - 1))
    if draw(st.booleans()):
        j = draw(st.integers(0, len(lines)))
        lines.insert(j, lines[i])
        return "\n".join(lines), f"duplicate-line {i + 1} before {j + 1}"
    del lines[i]
    return "\n".join(lines), f"delete-line {i + 1}"


@st.composite
def huge_number(draw: st.DrawFn, text: str) -> tuple[str, str]:
    n = draw(st.sampled_from([101, 4300, 4301, 5000, 20000]))
    digits = draw(st.sampled_from(["9" * n, "-" + "1" * n, "0x" + "f" * n, "1" + ":5" * (n // 2),
                                   "1." + "3" * n, "1" * n + "e5", "0o" + "7" * n, "1_" * (n // 2) + "1"]))
    numbers = [m.span() for m in re.finditer(r"(?<![\w.-])\d+(?![\w.-])", text)]
    if numbers and draw(st.booleans()):
        a, b = draw(st.sampled_from(numbers))
        return text[:a] + digits + text[b:], f"huge-number ({len(digits)} chars) replaces {text[a:b]!r} at {a}"
    at = draw(st.integers(0, len(text)))
    return text[:at] + digits + text[at:], f"huge-number ({len(digits)} chars) at {at}"


@st.composite
def deep_nesting(draw: st.DrawFn, text: str) -> tuple[str, str]:
    n = draw(st.sampled_from([63, 64, 65, 66, 100, 1000, 10_000, 100_000]))
    kind = draw(st.sampled_from(["[", "{", "[close", "{close", "- ", "? ", "[\n", "indent", "mixed"]))
    if kind == "[close":
        nest = "[" * min(n, 50_000) + "1" + "]" * min(n, 50_000)
    elif kind == "{close":
        nest = "{a: " * min(n, 25_000) + "1" + "}" * min(n, 25_000)
    elif kind == "indent":
        nest = "\n" + "".join(" " * i + f"k{i}:\n" for i in range(min(n, 500)))
    elif kind == "mixed":
        nest = "[{a: - " * min(n // 3, 20_000)
    else:  # one character, or two for `- `, `? ` and `[\n`: within MAX_CHARS
        nest = kind * (n if len(kind) == 1 else min(n, 50_000))
    at = draw(st.integers(0, len(text)))
    return text[:at] + nest + text[at:], f"deep-nesting {kind!r} x{n} at {at}"


_KEY_VALUE = re.compile(r"^( *(?:- )?[A-Za-z_]+: )(\S.*?)( +#.*)?$")


@st.composite
def swap_values(draw: st.DrawFn, text: str) -> tuple[str, str]:
    lines = _lines(text)
    pairs = [i for i, line in enumerate(lines) if _KEY_VALUE.match(line)]
    if not pairs:
        return text, "swap-values: no key: value line left"
    i, j = draw(st.sampled_from(pairs)), draw(st.sampled_from(pairs))
    mi, mj = _KEY_VALUE.match(lines[i]), _KEY_VALUE.match(lines[j])
    assert mi and mj
    lines[i] = mi.group(1) + mj.group(2)
    lines[j] = mj.group(1) + mi.group(2)
    return "\n".join(lines), f"swap-values lines {i + 1} and {j + 1}"


@st.composite
def replace_value(draw: st.DrawFn, text: str) -> tuple[str, str]:
    lines = _lines(text)
    pairs = [i for i, line in enumerate(lines) if _KEY_VALUE.match(line)]
    if not pairs:
        return text, "replace-value: no key: value line left"
    i = draw(st.sampled_from(pairs))
    m = _KEY_VALUE.match(lines[i])
    assert m
    value = draw(st.sampled_from(SCALARS))
    lines[i] = m.group(1) + value
    return "\n".join(lines), f"replace-value line {i + 1} with {value[:40]!r}"


# values that the semantic rules must catch, by the key they are written under
TARGETED = {
    "account": ['"111111111111"', '"222222222222"', '"000000000000"'],
    "assume_role_arn": ["arn:aws:iam::111111111111:role/deedbox-deployer", "arn:aws-cn:iam::111111111111:role/x",
                        "arn:aws:iam::333333333333:role/elsewhere"],
    "break_glass_principal": ["arn:aws:iam::111111111111:root", "arn:aws:iam::111111111111:user/admin",
                              "arn:aws:iam::222222222222:root"],
    "region": ["us-east-99", "eu-west-1", "eu-central-1", "us-gov-west-1", "cn-north-1", "ap-west-1", "us-iso-east-1",
               "eu-wset-1"],
    "prefix": ["../../", "./", "uploads/", "courses/", "uploads/x/", "", "a//", "/abs/", "../x/", "recordings/../"],
    "archive_after_days": ["0", "399", "400", "401", "5000", "null"],
    "expire_after_days": ["1", "29", "30", "36", "null", "100000"],
    "noncurrent_expire_after_days": ["1", "35", "36", "null"],
    "days": ["1", "7", "30", "31", "36500", "36501"],
    "rpo_hours": ["1", "5", "24", "999999"],
    "schedule": ["rate(1 hour)", "rate(7 days)", "cron(0 0 L * ? *)", "cron(0 0 ? * 2#5 2030)", "rate(0 hours)"],
    "mode": ["sync", "replicate", "governance", "compliance"],
    "kind": ["none", "github-actions", "self-hosted", "convex-cloud"],
}
_KEYS = "|".join(TARGETED)
_TARGET_LINE = re.compile(r"^( *(?:- )?(" + _KEYS + r"): )([^\s{\[].*?)( +#.*)?$", re.MULTILINE)
_TARGET_FLOW = re.compile(r"\b(" + _KEYS + r"): ([^,{}\[\]\n]+?)(?=[,}])")


@st.composite
def retarget(draw: st.DrawFn, text: str) -> tuple[str, str]:
    """A value the semantic rules judge, replaced by another plausible or wrong one for its key."""
    spans = [(m.start(2 if m.re is _TARGET_FLOW else 3), m.end(2 if m.re is _TARGET_FLOW else 3), m.group(1 if m.re is _TARGET_FLOW else 2))
             for pattern in (_TARGET_LINE, _TARGET_FLOW) for m in pattern.finditer(text)]
    if not spans:
        return text, "retarget: no such key left"
    a, b, key = draw(st.sampled_from(spans))
    value = draw(st.sampled_from(TARGETED[key]))
    return text[:a] + value + text[b:], f"retarget {key} at {a}: {value!r}"


MUTATIONS = (insert_char, insert_token, delete, line_edit, huge_number, deep_nesting, swap_values, replace_value,
             retarget, retarget)


MAX_CHARS = 150_000  # one 100,000-bracket nesting fits; stacking several only measures PyYAML's speed


@st.composite
def mutated_text(draw: st.DrawFn, base: str = REFERENCE_TEXT) -> tuple[str, tuple[str, ...]]:
    """The reference text after one to four mutations, and what was done (for the failure report).

    A mutation that would grow the text past ``MAX_CHARS`` is skipped: a 600 KB plain scalar is
    slow in pure-Python PyYAML (about 2 microseconds a word) without being hostile.
    """
    text, done = base, []
    for _ in range(draw(st.integers(1, 4))):
        mutated, what = draw(st.sampled_from(MUTATIONS).flatmap(lambda mutate, t=text: mutate(t)))
        if len(mutated) <= MAX_CHARS:
            text = mutated
            done.append(what)
    return text, tuple(done)
