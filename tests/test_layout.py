"""The repository's two wings: the lesson's build (tools/*.py) and the lab (tools/lab/).

The lab may import the build, never the reverse, so that a contributor who changes an
episode never needs the lab; no module imports another that imports it back; and the
tools import each other at the top of the module, where a reader sees them."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module(path):
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _imports():
    """{module: [(imported tools module, line, at module level)]} of tools/ and tools/lab/."""
    modules = {_module(p): p for p in (ROOT / "tools").rglob("*.py")}
    out = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        top = {id(n) for n in tree.body}
        found = []
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tools"):
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules
                           else node.module for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("tools")]
            found += [(t, node.lineno, id(node) in top) for t in targets]
        out[name] = found
    return out


IMPORTS = _imports()


def test_the_build_never_imports_the_lab():
    bad = [f"{m} line {line} imports {t}" for m, deps in IMPORTS.items()
           if not m.startswith("tools.lab") for t, line, _ in deps if t.startswith("tools.lab")]
    assert not bad, bad


def cycles(graph):
    """Every import cycle of ``graph`` ({module: modules it imports}) as a path."""
    found = []

    def visit(m, path):
        for d in graph.get(m, ()):
            if d in path:
                found.append(path[path.index(d):] + [d])
            else:
                visit(d, path + [d])
    for m in graph:
        visit(m, [m])
    return found


def test_no_import_cycles():
    found = cycles({m: {t for t, _, _ in deps} for m, deps in IMPORTS.items()})
    assert not found, found[:3]


def test_tools_import_each_other_at_module_level():
    hidden = [f"{m} line {line} imports {t}" for m, deps in IMPORTS.items()
              for t, line, top in deps if not top]
    assert not hidden, hidden


def test_the_cycle_check_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) != []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
