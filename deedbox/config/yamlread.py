"""Read backup.yaml into JSON types while remembering where every key and value came from.

PyYAML's ``safe_load`` forgets positions and silently accepts duplicate keys, so this module
composes the node graph itself and converts it, the way check-jsonschema normalises YAML:
timestamps stay strings, keys become strings, scalars follow ``SafeConstructor``. While
converting it records ``path -> (line, column)`` for values and for keys, reports duplicate
keys at the second occurrence, and stops alias expansion (billion laughs) past a node budget.

Hostile or broken input is answered with a positioned diagnostic, never a traceback, and fast:

- control characters (NUL included) are found in the text before PyYAML sees it, which would
  otherwise raise an unpositioned ``ReaderError``; only their code point is named, never the
  text around them;
- numbers longer than ``MAX_NUMBER_CHARS`` are reported without converting them (Python refuses
  to convert decimal strings over 4,300 digits, and nothing in backup.yaml needs more than a few);
- nesting is limited while composing: the composer here is iterative (PyYAML's recurses, so
  10,000 ``[`` ran into the recursion limit and were reported at 1:1) and stops at the first node
  deeper than ``MAX_DEPTH``, at that node's position; the scanner keeps no possible simple key
  below that depth, so 100,000 ``[`` on one line cost no more than 65.

Problems in the *content* come back as diagnostics (exit 1); a file that cannot be read at all
raises ``UsageError`` (exit 2).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from deedbox.config.diagnostics import Diagnostic, PathT, dotted
from deedbox.config.secretscan import describe
from deedbox.errors import UsageError

MAX_EXPANDED_NODES = 10_000
MAX_DEPTH = 64  # backup.yaml needs about 6; deeper is an accident or an attack on the stack
MAX_BYTES = 1_000_000
MAX_NUMBER_CHARS = 100  # the largest number backup.yaml needs has 5 digits; 4,301 crash int()
MAX_CONTROL_REPORTED = 20  # control characters listed one by one; the rest are counted
BINARY_NUL_SHARE = 0.1  # a file this much NUL is binary (or UTF-16), not YAML with a stray NUL
_TAB_INDENT = re.compile(r"^( *)\t", re.MULTILINE)
# exactly what PyYAML's reader refuses (yaml.reader.Reader.NON_PRINTABLE), so it never has to
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]")
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # PyYAML's line breaks
_PLAIN_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class _AliasRef:
    """Stands in for an alias in the node graph so expansion can be counted and located."""

    __slots__ = ("target", "start_mark")

    def __init__(self, target: Node, start_mark: yaml.Mark) -> None:
        self.target, self.start_mark = target, start_mark


class _TooDeep(Exception):
    """The composer met a node nested deeper than ``MAX_DEPTH``."""

    def __init__(self, mark: yaml.Mark, path: PathT) -> None:
        super().__init__("too deep")
        self.mark, self.path = mark, path


class _Frame:
    """A collection being composed: its node, and the key (mappings) or index (sequences) next."""

    __slots__ = ("node", "key", "index")

    def __init__(self, node: CollectionNode) -> None:
        self.node = node
        self.key: Node | _AliasRef | None = None
        self.index = 0

    def part(self) -> str | int | None:
        """This level's component of the path of the node being composed (None: a key)."""
        if isinstance(self.node, SequenceNode):
            return self.index
        return self.key.value if isinstance(self.key, ScalarNode) else None


class _Loader(yaml.SafeLoader):
    """SafeLoader with an iterative, depth-limited composer that keeps aliases visible (``_AliasRef``).

    PyYAML's composer recurses once per nesting level; this one keeps its own stack and raises
    ``_TooDeep`` at the first node below ``MAX_DEPTH`` collections. It otherwise composes exactly
    like PyYAML's (tags resolved the same way, undefined and duplicate anchors the same errors).
    """

    def save_possible_simple_key(self) -> None:
        # PyYAML rescans every saved key on every token: 100,000 `[` on one line are quadratic.
        # A token this deep is a node below MAX_DEPTH, which the composer refuses anyway.
        if self.flow_level <= MAX_DEPTH:
            super().save_possible_simple_key()

    def compose_document(self) -> Node | None:
        self.get_event()  # DocumentStartEvent
        node = self._compose_tree()
        self.get_event()  # DocumentEndEvent
        self.anchors = {}
        return node  # type: ignore[return-value]  # the root is never an alias (nothing is anchored yet)

    def _compose_tree(self) -> Node | _AliasRef:
        stack: list[_Frame] = []
        while True:
            if stack and self.check_event(SequenceEndEvent, MappingEndEvent):
                frame = stack.pop()
                frame.node.end_mark = self.get_event().end_mark
                node: Node | _AliasRef = frame.node
            else:
                node = self._start(stack)
                if isinstance(node, CollectionNode):
                    stack.append(_Frame(node))
                    continue
            if not stack:
                return node
            parent = stack[-1]
            if isinstance(parent.node, SequenceNode):
                parent.node.value.append(node)
                parent.index += 1
            elif parent.key is None:
                parent.key = node
            else:
                parent.node.value.append((parent.key, node))
                parent.key = None

    def _start(self, stack: list[_Frame]) -> Node | _AliasRef:
        """The next node: a finished scalar or alias, or a collection still to be filled."""
        event = self.peek_event()
        start = cast(yaml.Mark, event.start_mark)  # the pure-Python parser's marks (the stubs allow libyaml's)
        if len(stack) > MAX_DEPTH:
            path = tuple(p for p in (f.part() for f in stack[:MAX_DEPTH + 1]) if p is not None)
            raise _TooDeep(start, path)
        if isinstance(event, AliasEvent):
            self.get_event()
            if event.anchor not in self.anchors:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}", start)
            return _AliasRef(self.anchors[event.anchor], start)
        anchor = event.anchor
        if anchor is not None and anchor in self.anchors:
            raise yaml.composer.ComposerError(f"found duplicate anchor {anchor!r}; first occurrence",
                                              self.anchors[anchor].start_mark, "second occurrence", start)
        self.get_event()
        node: Node
        if isinstance(event, ScalarEvent):
            tag = event.tag if event.tag not in (None, "!") else self.resolve(ScalarNode, event.value, event.implicit)
            node = ScalarNode(tag, event.value, start, cast(yaml.Mark, event.end_mark), style=event.style)
        elif isinstance(event, (SequenceStartEvent, MappingStartEvent)):
            kind = SequenceNode if isinstance(event, SequenceStartEvent) else MappingNode
            tag = event.tag if event.tag not in (None, "!") else self.resolve(kind, None, event.implicit)
            node = kind(tag, [], start, None, flow_style=event.flow_style)
        else:  # the parser only yields node events here; anything else is PyYAML's own bug
            raise yaml.composer.ComposerError(None, None, f"unexpected {type(event).__name__}", start)
        if anchor is not None:
            self.anchors[anchor] = node
        return node


class _Stop(Exception):
    """Conversion cannot go on (alias bomb, recursion): the diagnostic is already recorded."""


@dataclass
class Document:
    """A converted document: the JSON value and where each part of it was written."""

    data: Any = None
    values: dict[PathT, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathT, tuple[int, int]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def position(self, path: PathT, *, key: bool = False) -> tuple[int, int]:
        """Position of ``path`` (its key when ``key``), else of its nearest recorded ancestor."""
        if key and path in self.keys:
            return self.keys[path]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (1, 1))


def read_text(path: Path) -> str:
    """The file's text; ``UsageError`` when it is missing, a directory, binary or unreadable.

    A NUL byte alone does not make a file binary: a stray one in a text file is reported at its
    position by ``parse``. The file is binary when it is not UTF-8 and holds NUL bytes, or when
    NUL bytes are a tenth of it (UTF-16, images, archives).
    """
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, expected a backup.yaml file")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UsageError(f"{path}: cannot read ({err.strerror or type(err).__name__})") from None
    if len(raw) > MAX_BYTES:
        raise UsageError(f"{path}: {len(raw)} bytes is too large for a backup.yaml (limit {MAX_BYTES})")
    nuls = raw.count(b"\x00")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if nuls:
            raise UsageError(f"{path}: is a binary file, expected YAML text") from None
        raise UsageError(f"{path}: is not UTF-8 text (undecodable byte at offset {err.start})") from None
    if nuls >= max(1, len(raw) * BINARY_NUL_SHARE):
        raise UsageError(f"{path}: is a binary file, expected YAML text")
    return text


def parse(text: str) -> Document:
    """Parse YAML text; content problems are returned as diagnostics, never raised."""
    doc = Document()
    if _control_characters(text, doc):
        return doc
    if not text.strip():
        doc.diagnostics.append(_diag(1, 1, (), "yaml.empty", "the file is empty; expected a mapping with version, name, source, ..."))
        return doc
    tabs = [m for m in _TAB_INDENT.finditer(text)]
    if tabs:
        where = _Positions(text)
        for m in tabs:
            line, _ = where.of(m.start())
            doc.diagnostics.append(_diag(line, len(m.group(1)) + 1, (), "yaml.tab",
                                         "a tab is used for indentation; YAML allows only spaces"))
        return doc
    try:
        root = yaml.compose(text, Loader=_Loader)
    except _TooDeep as err:
        doc.diagnostics.append(_diag(err.mark.line + 1, err.mark.column + 1, err.path, "yaml.depth",
                                     f"nested deeper than {MAX_DEPTH} levels"))
        return doc
    except yaml.MarkedYAMLError as err:
        doc.diagnostics.append(_syntax(err))
        return doc
    except yaml.YAMLError:  # unmarked (the reader's errors are ruled out above): say so, at the start
        doc.diagnostics.append(_diag(1, 1, (), "yaml.syntax", "invalid YAML"))
        return doc
    if root is None:
        doc.diagnostics.append(_diag(1, 1, (), "yaml.empty", "the file has only comments; expected a mapping with version, name, source, ..."))
        return doc
    _Converter(doc).run(root)
    return doc


class _Positions:
    """1-based (line, column) of a text offset, counted the way PyYAML's marks count them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]

    def of(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        return line + 1, offset - start - self.text.count("\ufeff", start, offset) + 1  # a BOM takes no column


def _control_characters(text: str, doc: Document) -> bool:
    """Report every character YAML does not allow (PyYAML would raise without a position)."""
    found = list(_NON_PRINTABLE.finditer(text))
    if not found:
        return False
    where = _Positions(text)
    for m in found[:MAX_CONTROL_REPORTED]:
        line, col = where.of(m.start())
        doc.diagnostics.append(_diag(line, col, (), "yaml.control-character",
                                     f"{_character(m.group())} is not allowed in YAML; delete it (editors may not show it)"))
    if len(found) > MAX_CONTROL_REPORTED:
        line, col = where.of(found[MAX_CONTROL_REPORTED].start())
        more = len(found) - MAX_CONTROL_REPORTED
        doc.diagnostics.append(_diag(line, col, (), "yaml.control-character",
                                     f"{more} more control or non-printable character{'s' if more != 1 else ''} from here on"))
    return True


def _character(char: str) -> str:
    """``control character U+0000`` (never the text around it: it may be a secret)."""
    kind = "control character" if unicodedata.category(char) == "Cc" else "non-printable character"
    return f"{kind} U+{ord(char):04X}"


def _diag(line: int, col: int, path: PathT, rule: str, message: str) -> Diagnostic:
    return Diagnostic(line, col, dotted(path), rule, message)


def _syntax(err: yaml.MarkedYAMLError) -> Diagnostic:
    """A one-line syntax message from PyYAML's problem/context (never its source snippet)."""
    mark = err.problem_mark or err.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if err.context == "expected a single document in the stream":
        return _diag(line, col, (), "yaml.syntax", "invalid YAML: a second document starts here; backup.yaml holds exactly one")
    message = "invalid YAML: " + (err.problem or err.context or "syntax error")
    if err.context and err.problem and err.context_mark is not None:
        message += f" ({err.context} at line {err.context_mark.line + 1})"
    return _diag(line, col, (), "yaml.syntax", message)


def _mark(node: Node | _AliasRef) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Converter:
    """Walks the node graph once, building JSON values and the position maps."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.count = 0
        self.active: set[int] = set()  # nodes being converted: an alias to one is recursion
        self.aliases: list[tuple[_AliasRef, PathT]] = []  # aliases being expanded, outermost first
        self.constructor = yaml.SafeLoader("")  # only its scalar constructors are used

    def run(self, root: Node) -> None:
        try:
            self.doc.data = self.value(root, ())
        except _Stop:
            self.doc.data = None

    def value(self, node: Node | _AliasRef, path: PathT) -> Any:
        if isinstance(node, _AliasRef):
            return self.alias(node, path)
        self.count += 1
        if len(path) > MAX_DEPTH:
            self._stop(node, path[:MAX_DEPTH + 1], "yaml.depth", f"nested deeper than {MAX_DEPTH} levels")
        if self.count > MAX_EXPANDED_NODES and self.aliases:
            ref, where = self.aliases[0]  # the alias written in the document's own flow
            self._stop(ref, where, "yaml.alias",
                       f"aliases expand to more than {MAX_EXPANDED_NODES} nodes (a 'billion laughs' document)")
        self.doc.values.setdefault(path, _mark(self.aliases[-1][0] if self.aliases else node))
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            self._stop(self.aliases[-1][0], path, "yaml.alias", "an alias refers to a node that contains it (recursive)")
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.value(child, path + (i,)) for i, child in enumerate(node.value)]
            return self.mapping(cast(MappingNode, node), path)  # the only other node kind
        finally:
            self.active.discard(id(node))

    def alias(self, ref: _AliasRef, path: PathT) -> Any:
        """Expand an alias, remembering it so budget overruns point at the alias itself."""
        target = ref.target
        while isinstance(target, _AliasRef):
            target = target.target
        self.aliases.append((ref, path))
        try:
            return self.value(target, path)
        finally:
            self.aliases.pop()

    def _stop(self, node: Node | _AliasRef, path: PathT, rule: str, message: str) -> None:
        line, col = _mark(node)
        self.doc.diagnostics.append(_diag(line, col, path, rule, message))
        raise _Stop

    def scalar(self, node: ScalarNode, path: PathT) -> Any:
        if node.tag == _TIMESTAMP:
            return node.value  # dates stay the strings the author wrote
        if node.tag in _NUMBERS and len(node.value) > MAX_NUMBER_CHARS:
            # never converted: int() refuses more than 4,300 digits and nothing here needs 6
            line, col = _mark(node)
            self.doc.diagnostics.append(_diag(line, col, path, "yaml.number",
                                              f"this number is {len(node.value)} characters long; at most "
                                              f"{MAX_NUMBER_CHARS} are allowed (quote it if it is text)"))
            return None
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as err:
            line, col = _mark(node)
            self.doc.diagnostics.append(_diag(line, col, path, "yaml.tag", f"unsupported YAML tag {describe(node.tag)}" if "tag" in str(err.problem) else "invalid YAML value"))
            return None
        except (ValueError, KeyError, IndexError, TypeError, ArithmeticError):
            # an explicit tag on a value it cannot hold (`!!int abc`, `!!bool maybe`, `!!int ""`)
            line, col = _mark(node)
            short = node.tag.replace("tag:yaml.org,2002:", "!!", 1)
            self.doc.diagnostics.append(_diag(line, col, path, "yaml.tag",
                                              f"this value is not a valid {describe(short)} (an explicit YAML tag)"))
            return None
        if isinstance(value, bytes):
            return node.value
        return value

    def mapping(self, node: MappingNode, path: PathT) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merges: list[Node | _AliasRef] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            key = self.key(key_node, path)
            if key is None:
                continue
            if key in out:
                line, col = _mark(key_node)
                self.doc.diagnostics.append(_diag(line, col, path + (key,), "yaml.duplicate-key",
                                                  f"duplicate key {describe(key)} (first at line {self.doc.keys[path + (key,)][0]})"))
                continue
            self.doc.keys[path + (key,)] = _mark(key_node)
            out[key] = self.value(value_node, path + (key,))
        for merge in merges:
            self.merge(out, merge, path)
        return out

    def key(self, node: Node | _AliasRef, path: PathT) -> str | None:
        if isinstance(node, ScalarNode):
            return node.value  # raw text: `on:` stays "on", `1:` becomes "1"
        line, col = _mark(node)
        self.doc.diagnostics.append(_diag(line, col, path, "yaml.key", "a key must be a plain scalar, not a list or mapping"))
        return None

    def merge(self, out: dict[str, Any], node: Node | _AliasRef, path: PathT) -> None:
        """YAML merge keys (``<<: *base``): explicit keys win, like SafeConstructor."""
        sources = [node]
        target = node.target if isinstance(node, _AliasRef) else node
        if isinstance(target, SequenceNode):
            sources = list(target.value)
        src = path + ("<<",)
        for source in sources:
            # each source's positions are recorded apart, then moved under the keys it added:
            # one pass over the source, not over the whole document per key
            saved = self.doc.values, self.doc.keys
            self.doc.values, self.doc.keys = {}, {}
            try:
                value = self.value(source, src)
            finally:
                scratch = self.doc.values, self.doc.keys
                self.doc.values, self.doc.keys = saved
            if not isinstance(value, dict):
                line, col = _mark(source)
                self.doc.diagnostics.append(_diag(line, col, path, "yaml.merge", "a merge key (<<) needs a mapping or a list of mappings"))
                continue
            added = [key for key in value if key not in out]
            out.update((key, value[key]) for key in added)
            added_set = set(added)
            n = len(src)
            for table, moved in zip(saved, scratch, strict=True):
                for p, pos in moved.items():
                    if len(p) > n and p[n] in added_set:
                        table.setdefault(path + p[n:], pos)
