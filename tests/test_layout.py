"""The layout's rules, read from the source: models/ has no import circle and no Streamlit, and every
module of the project imports on its own (no module works only because another was imported first)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Folders of importable modules (pages and app.py are Streamlit scripts, run rather than imported).
PACKAGES = ("models", "bench", "training", "tools")
TOP_MODULES = ("ui", "url_params", "share_store", "database", "classroom")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> list[str]:
    names = [module_name(path) for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))]
    names += [name for name in TOP_MODULES if (REPO / f"{name}.py").exists()]
    return [name for name in names if not name.endswith("__main__")]


def imported_names(path: Path, name: str) -> set[str]:
    """Every module `path` imports, lazy imports inside functions included, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def models_import_graph() -> dict[str, set[str]]:
    """Module -> the modules of models/ it imports (a name that is not a module counts as its module)."""
    paths = {module_name(path): path for path in (REPO / "models").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets = set()
        for target in imported_names(path, name):
            while target and target not in paths:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            component.append(node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_circles_finds_a_loop_and_nothing_else():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [["a", "b", "c"]]


def test_models_has_no_import_circle():
    graph = models_import_graph()
    assert len(graph) > 40  # the whole package was read
    assert "models.core.specs" in graph["models.translation.translator"]
    assert circles(graph) == []


def test_models_never_imports_streamlit():
    for path in (REPO / "models").rglob("*.py"):
        names = imported_names(path, module_name(path))
        assert not any(n == "streamlit" or n.startswith("streamlit.") for n in names), path


def test_every_technique_package_says_what_is_inside():
    for init in (REPO / "models").glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.splitlines()) >= 2, f"{init} needs a docstring saying what is inside"


# Run in a fresh interpreter: heavy third-party libraries are imported once, then each project module
# is imported in a forked child of its own, so it finds none of the project's modules loaded before it.
IMPORT_EACH_ALONE = """
import json, os, sys, traceback
import numpy, torch, safetensors  # noqa: third-party, shared by the children to keep this quick
failures = {}
for name in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            __import__(name)
            code = 0
        except BaseException:
            os.write(write, traceback.format_exc(limit=3).encode()[-2000:])
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failures[name] = message or f"exit status {status}"
print(json.dumps(failures))
"""


def test_every_module_imports_on_its_own():
    modules = project_modules()
    assert "models.core.registry" in modules and "training.translation_enes" in modules
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH_ALONE, json.dumps(modules)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert failures == {}, "\n\n".join(f"{name}:\n{error}" for name, error in failures.items())
