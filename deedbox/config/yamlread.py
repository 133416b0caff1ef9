"""Read backup.yaml into JSON types while remembering where every key and value came from.

PyYAML's ``safe_load`` forgets positions and silently accepts duplicate keys, so this module
composes the node graph itself and converts it, the way check-jsonschema normalises YAML:
timestamps stay strings, keys become strings, scalars follow ``SafeConstructor``. While
converting it records ``path -> (line, column)`` for values and for keys, reports duplicate
keys at the second occurrence, and stops alias expansion (billion laughs) past a node budget.

Problems in the *content* come back as diagnostics (exit 1); a file that cannot be read at all
raises ``UsageError`` (exit 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from deedbox.config.diagnostics import Diagnostic, PathT, dotted
from deedbox.config.secretscan import describe
from deedbox.errors import UsageError

MAX_EXPANDED_NODES = 10_000
MAX_DEPTH = 64  # backup.yaml needs about 6; deeper is an accident or an attack on the stack
MAX_BYTES = 1_000_000
_TAB_INDENT = re.compile(r"^( *)\t", re.MULTILINE)
_PLAIN_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


class _AliasRef:
    """Stands in for an alias in the node graph so expansion can be counted and located."""

    __slots__ = ("target", "start_mark")

    def __init__(self, target: Node, start_mark: yaml.Mark) -> None:
        self.target, self.start_mark = target, start_mark


class _Loader(yaml.SafeLoader):
    """SafeLoader whose composer keeps aliases visible (see ``_AliasRef``)."""

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            # an alias always composes to its anchored node (or raises); the stub's Optional is
            # for the end of the stream, which an AliasEvent never is
            return _AliasRef(cast(Node, super().compose_node(parent, index)), mark)
        return super().compose_node(parent, index)


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
    """The file's text; ``UsageError`` when it is missing, a directory, binary or unreadable."""
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
    if b"\x00" in raw:
        raise UsageError(f"{path}: is a binary file, expected YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UsageError(f"{path}: is not UTF-8 text (undecodable byte at offset {err.start})") from None


def parse(text: str) -> Document:
    """Parse YAML text; content problems are returned as diagnostics, never raised."""
    doc = Document()
    if not text.strip():
        doc.diagnostics.append(_diag(1, 1, (), "yaml.empty", "the file is empty; expected a mapping with version, name, source, ..."))
        return doc
    tabs = [m for m in _TAB_INDENT.finditer(text)]
    if tabs:
        for m in tabs:
            line = text.count("\n", 0, m.start()) + 1
            doc.diagnostics.append(_diag(line, len(m.group(1)) + 1, (), "yaml.tab",
                                         "a tab is used for indentation; YAML allows only spaces"))
        return doc
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        doc.diagnostics.append(_syntax(err))
        return doc
    except RecursionError:
        doc.diagnostics.append(_diag(1, 1, (), "yaml.depth", f"nested deeper than {MAX_DEPTH} levels"))
        return doc
    if root is None:
        doc.diagnostics.append(_diag(1, 1, (), "yaml.empty", "the file has only comments; expected a mapping with version, name, source, ..."))
        return doc
    _Converter(doc).run(root)
    return doc


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
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as err:
            line, col = _mark(node)
            self.doc.diagnostics.append(_diag(line, col, path, "yaml.tag", f"unsupported YAML tag {describe(node.tag)}" if "tag" in str(err.problem) else "invalid YAML value"))
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
        for source in sources:
            value = self.value(source, path + ("<<",))
            if not isinstance(value, dict):
                line, col = _mark(source)
                self.doc.diagnostics.append(_diag(line, col, path, "yaml.merge", "a merge key (<<) needs a mapping or a list of mappings"))
                continue
            for key, item in value.items():
                if key not in out:
                    out[key] = item
                    self._copy_positions(path + ("<<",), path, key)
        self.doc.values.pop(path + ("<<",), None)

    def _copy_positions(self, src: PathT, dst: PathT, key: str) -> None:
        n = len(src)
        for table in (self.doc.values, self.doc.keys):
            for p, pos in list(table.items()):
                if p[:n + 1] == src + (key,):
                    table.setdefault(dst + p[n:], pos)
