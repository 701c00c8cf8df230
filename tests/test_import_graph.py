"""The import graph of ``planner``: no cycle among module-level imports, and no private name
imported across the optimiser's package boundaries (solve/, cluster/, diagnose, the shared
modules).

Walks every module under planner/ with ``ast`` (no import is executed). An edge ``a -> b``
for every ``import planner.x`` / ``from planner.x import y`` in ``a`` (``b`` is
``planner.x.y`` when that is a module, else ``planner.x``); imports inside functions are
recorded too but, being run only when called, cannot make an import cycle.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "planner"
OPT = "planner.optimization"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


@functools.lru_cache(maxsize=1)
def _planner_imports() -> tuple[tuple[str, str, list[str], bool], ...]:
    """:func:`_imports` of the whole package, parsed once for the module's tests."""
    return tuple(_imports(_modules()))


def _imports(
    modules: dict[str, Path],
) -> list[tuple[str, str, list[str], bool]]:
    """(importer, imported module, names imported, at module level) for every planner import."""
    found = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_pkg = path.name == "__init__.py"
        top_level = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [(a.name, []) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    here = name.split(".") if is_pkg else name.split(".")[:-1]
                    here = here[: len(here) - (node.level - 1)]
                    base = ".".join([*here, base] if base else here)
                targets = []
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in modules:
                        targets.append((sub, []))
                    else:
                        targets.append((base, [alias.name]))
            else:
                continue
            module_level = id(node) in top_level or _under_module_level_if(tree, node)
            for target, names in targets:
                if target == "planner" or target.startswith("planner."):
                    found.append((name, target, names, module_level))
    return found


def _under_module_level_if(tree: ast.Module, node: ast.AST) -> bool:
    """Imports under a module-level ``if``/``try`` (not ``if TYPE_CHECKING``) run on import."""
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test):
            continue
        if isinstance(stmt, ast.If | ast.Try) and node in ast.walk(stmt):
            return True
    return False


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                return [*stack[stack.index(w) :], w]
            if w not in state and (found := visit(w)):
                return found
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state and (found := visit(v)):
            return found
    return None


def _area(module: str) -> str:
    """The optimiser package a module belongs to: ``solve``, ``cluster``, ``buildout``,
    ``diagnose`` or a shared module's own name (``constants``, ``messages``, ``sweep``)."""
    rest = module[len(OPT) + 1 :].split(".")
    return rest[0] if rest[0] else "__init__"


def test_the_module_level_import_graph_of_planner_has_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for src, dst, _, module_level in _planner_imports():
        if module_level and src != dst:
            graph.setdefault(src, set()).add(dst)
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or [])}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_private_name_is_imported_across_the_optimiser_packages() -> None:
    crossing = [
        f"{src} imports {name} from {dst}"
        for src, dst, names, _ in _planner_imports()
        if src.startswith(f"{OPT}.") and dst.startswith(f"{OPT}.") and _area(src) != _area(dst)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not crossing, "\n".join(crossing)


def test_the_solver_layer_imports_no_model() -> None:
    # solve/ is model-agnostic: it may use the shared constants, never a model package
    wrong = [
        f"{src} -> {dst}"
        for src, dst, _, _ in _planner_imports()
        if src.startswith(f"{OPT}.solve")
        and dst.startswith(f"{OPT}.")
        and _area(dst) not in ("solve", "constants")
    ]
    assert not wrong, "\n".join(wrong)


def test_diagnose_imports_no_model_and_no_solver() -> None:
    wrong = [
        dst
        for src, dst, _, _ in _planner_imports()
        if src == f"{OPT}.diagnose" and dst.startswith(f"{OPT}.") and _area(dst) != "constants"
    ]
    assert not wrong, wrong


def test_read_back_only_reads_back() -> None:
    # the cluster's read-back re-solves nothing: no algorithms, solving or solver layer
    wrong = [
        dst
        for src, dst, _, _ in _planner_imports()
        if src == f"{OPT}.cluster.readback"
        and (dst.startswith(f"{OPT}.solve") or dst.split(".")[-1] in ("algorithms", "solving"))
    ]
    assert not wrong, wrong
