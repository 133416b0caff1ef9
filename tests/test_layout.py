"""The package's shape: one package per concern, imports only downward, no cycles.

Every ``import`` in ``deedbox/`` counts, including the ones inside functions (a deferred import
that closes a cycle is still a cycle). Layers, lowest first; a package may import only from its
own package and from lower layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "deedbox"
LAYERS: dict[str, int] = {
    "errors": 0, "__init__": 0,
    "config": 1, "scaffold": 1,
    "bucket": 2, "convex": 2, "notify": 2,
    "topology": 3, "policy": 3, "backend": 3, "media": 3, "secrets": 3,
    "plan": 4, "restore": 4, "status": 4, "workflows": 4,
    "drill": 5, "doctor": 5,
    "commands": 6,
    "cli": 7,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets |= {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _concern(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_concern_has_a_layer():
    assert {_concern(m) for m in _imports()} <= set(LAYERS)


def test_imports_only_go_down():
    upward = [f"{a} -> {b}" for a, targets in _imports().items() for b in targets
              if _concern(a) != _concern(b) and LAYERS[_concern(b)] >= LAYERS[_concern(a)]]
    assert upward == []


def test_config_imports_nothing_of_deedbox_but_errors():
    outside = [f"{a} -> {b}" for a, targets in _imports().items() if _concern(a) == "config"
               for b in targets if _concern(b) not in ("config", "errors")]
    assert outside == []


def test_no_import_cycles():
    graph = _imports()
    # a package importing its own submodules is how packages work; cycles are between modules
    edges = {a: {b for b in bs if not a.startswith(b + ".") and not b.startswith(a + ".")} for a, bs in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


@pytest.mark.parametrize("forbidden", ["sys.modules[__name__].__class__", "gc.freeze", "gc.disable",
                                       "_get_stack_trace", "c_make_encoder", "scan_once"])
def test_no_patching_of_other_libraries(forbidden):
    """Nothing assigns into Pulumi, typer or CPython, or reaches for their private speed paths."""
    hits = [str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*.py") if forbidden in p.read_text()]
    assert hits == []
