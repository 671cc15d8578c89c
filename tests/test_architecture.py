"""The shape the code keeps: engines are pure adapters, the apps import each other one
way, and a live action is one registry row."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT

ENGINE_MODULES = sorted(
    f"sessions_app.engines.{path.stem}"
    for path in (ROOT / "sessions_app" / "engines").glob("*.py")
    if path.stem != "__init__"
)


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_each_engine_module_imports_without_django_configured(module):
    """Nothing under sessions_app/engines/ reaches a model, a selector or the settings
    when it loads: a fresh interpreter with no DJANGO_SETTINGS_MODULE imports it."""
    probe = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "loaded = sorted(m for m in sys.modules if m.endswith(('.models', '.selectors'))"
        " and m.split('.')[0] in ('auth_app', 'sessions_app', 'groups_app', 'gateway'))\n"
        "print(','.join(loaded))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} loads {result.stdout.strip()}"


def _imports(path: Path) -> set[str]:
    """Modules a file imports at load time (module level, not inside functions)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for app in ("gateway", "auth_app", "sessions_app", "groups_app"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            graph[name] = _imports(path)
    # An import of a package's module also names the package: resolve to known modules.
    return {
        name: {target for target in targets if target in graph} for name, targets in graph.items()
    }


def test_there_is_no_import_cycle_between_modules():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_sessions_app_does_not_import_groups_app_except_in_the_runner():
    """groups_app builds on sessions_app; the reverse happens only where the apps are
    composed: the runner (which stores what live sessions report), the session worker
    (which loads every app's live actions) and the admin console (a session's page lists
    its stored groups)."""
    graph = _graph()
    offenders = {
        name: sorted(target for target in targets if target.startswith("groups_app"))
        for name, targets in graph.items()
        if name.startswith("sessions_app")
        and not name.startswith(
            ("sessions_app.runner", "sessions_app.admin", "sessions_app.worker")
        )
    }
    assert {name: found for name, found in offenders.items() if found} == {}
