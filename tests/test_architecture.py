"""The pure core does no I/O and never reads the clock or environment; services see only ports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "changegate"
CORE_ALLOWED_THIRD_PARTY = {"pydantic", "codeowners", "holidays", "pathspec"}
IO_MODULES = {"os", "sys", "io", "socket", "subprocess", "shutil", "pathlib", "tempfile", "urllib", "http",
              "asyncio", "sqlite3", "sqlalchemy", "psycopg", "httpx", "requests", "yaml", "logging", "time", "random",
              "importlib", "builtins", "click"}
CLOCK_METHODS = {"now", "today", "utcnow"}  # datetime.now(), date.today(), datetime.utcnow()
TIME_MODULE_CALLS = {"time", "monotonic", "perf_counter", "time_ns", "localtime", "gmtime"}
FORBIDDEN_CALLS = {"open", "print", "input", "getenv"}


def modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_imports_nothing_that_does_io(path: Path) -> None:
    tree = ast.parse(path.read_text("utf-8"))
    for name in imported(tree):
        top = name.split(".")[0]
        assert top not in IO_MODULES, f"{path.name} imports {name}"
        if top == "changegate":
            assert name.startswith("changegate.core") or name == "changegate.errors", f"{path.name} imports {name} from outside the core"
        elif top not in CORE_ALLOWED_THIRD_PARTY:
            __import__(top)
            module = __import__(top)
            origin = getattr(module, "__file__", None) or ""
            assert "site-packages" not in origin, f"{path.name} imports third-party {name}"


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_never_reads_the_clock_or_environment(path: Path) -> None:
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            receiver = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            assert name not in CLOCK_METHODS, f"{path.name}:{node.lineno} reads the clock with {name}()"
            assert not (receiver == "time" and name in TIME_MODULE_CALLS), f"{path.name}:{node.lineno} calls time.{name}()"
            assert name not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {name}()"
        if isinstance(node, ast.Attribute) and node.attr == "environ":
            raise AssertionError(f"{path.name}:{node.lineno} reads the environment")


@pytest.mark.parametrize("path", modules("services"), ids=lambda p: p.name)
def test_services_use_ports_not_adapters(path: Path) -> None:
    for name in imported(ast.parse(path.read_text("utf-8"))):
        assert not name.startswith(("changegate.adapters", "changegate.wiring", "changegate.cli")), f"{path.name} imports {name}"


def test_modules_stay_small() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        lines = len(path.read_text("utf-8").splitlines())
        assert lines <= 330, f"{path.relative_to(PACKAGE)} has {lines} lines; split it (house rule: ~300)"
