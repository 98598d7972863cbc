"""The load test's Locust users call operations the API serves (bench/load/): every operation of
bench/load/operations.py is a path and method of the served OpenAPI schema, and every task of
every user class declares what it calls. An API rename breaks this test, not the benchmark.

The locustfile is imported in a subprocess: Locust patches the standard library with gevent
when it is imported, which this test process must not get."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from bench.load.operations import OPERATIONS

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"
PARAMETER = re.compile(r"\{[^}]+\}")

TASKS_SCRIPT = """
import json
from bench.load import locustfile
print(json.dumps({
    cls.__name__: sorted({(t.__name__, tuple(getattr(t, "operations", ()))) for t in cls.tasks})
    for cls in locustfile.USER_CLASSES
}))
"""


@pytest.fixture(scope="module")
def served_paths() -> set[tuple[str, str]]:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema: dict[str, Any] = json.loads(response.content)
    return {
        (method.upper(), PARAMETER.sub("{}", path))
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


@pytest.fixture(scope="module")
def tasks() -> dict[str, list[tuple[str, list[str]]]]:
    """Each user class's tasks and the operations each declares, from the imported locustfile."""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", TASKS_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded: dict[str, list[tuple[str, list[str]]]] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_every_operation_is_served(served_paths: set[tuple[str, str]]) -> None:
    missing = {
        name: f"{method} {path}"
        for name, (method, path, _kind) in OPERATIONS.items()
        if (method, PARAMETER.sub("{}", path)) not in served_paths
    }
    assert not missing, f"operations the served schema does not have: {missing}"


def test_every_user_class_has_tasks_that_declare_known_operations(
    tasks: dict[str, list[tuple[str, list[str]]]],
) -> None:
    assert set(tasks) == {
        "Clerk",
        "Reviewer",
        "CentreOperator",
        "CountyDistributor",
        "StationDistributor",
        "Supervisor",
    }
    for user_class, declared in tasks.items():
        assert declared, f"{user_class} has no task"
        for task_name, operations in declared:
            assert operations, f"{user_class}.{task_name} declares no operation (@uses)"
            assert set(operations) <= set(OPERATIONS), (user_class, task_name, operations)


def test_tasks_call_only_what_they_declare() -> None:
    """Read from the source: each `self.call("name", …)` in a task is one of its @uses names."""
    tree = ast.parse(LOCUSTFILE.read_text(encoding="utf-8"))
    checked = 0
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        declared: set[str] = set()
        for decorator in function.decorator_list:
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "uses":
                declared |= {arg.value for arg in decorator.args if isinstance(arg, ast.Constant)}
        if not declared:
            continue
        called = {
            node.args[0].value
            for node in ast.walk(function)
            if isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "call"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        }
        assert called <= declared, f"{function.name} calls {called - declared} without declaring it"
        checked += 1
    assert checked >= 10
