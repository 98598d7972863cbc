"""The API's contract with its readers: the served schema, docs/api.md and the code say the same.

- the schema generates without a warning (every view understood, every component named once);
- every top-level error code the code can raise is in `tongban.api_schema.ERRORS`, with the status
  the code answers with, and docs/api.md lists exactly those codes with those statuses;
- every operation declares 401/403 (signed-in staff only), 400 (input), 404 (a path parameter).

Whether the answers match the schema is schemathesis's part (scripts/fuzz.sh).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tongban.api_schema import ERRORS

ROOT = Path(__file__).resolve().parent.parent
# The calls whose first argument is an error code the API can answer with.
RAISERS = {"ServiceError", "ApiError", "ReasonProblem", "BiometricError"}


def raised_codes() -> dict[str, set[tuple[int, str]]]:
    """code → {(status, "path:line")} for every raiser called with a literal code."""
    found: dict[str, set[tuple[int, str]]] = {}
    for path in sorted((ROOT / "tongban").rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in RAISERS or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            status = next(
                (
                    k.value.value
                    for k in node.keywords
                    if k.arg == "status" and isinstance(k.value, ast.Constant)
                ),
                None,
            )
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            found.setdefault(node.args[0].value, set()).add((status, where))
    return found


def test_every_raised_code_is_registered_with_its_status() -> None:
    problems = []
    for code, places in raised_codes().items():
        if code not in ERRORS:
            problems.append(f"{code} (raised at {sorted(w for _, w in places)}) is not in ERRORS")
            continue
        for status, where in places:
            # A raiser without a status answers 400 (BiometricError: 503 for engine_*).
            if status is not None and status != ERRORS[code].status:
                problems.append(f"{code} raised with {status} at {where}; ERRORS says {ERRORS[code].status}")
    assert not problems, "\n".join(problems)


def documented_codes() -> dict[str, int]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    table = text.split("<!-- error-codes:", 1)[1].split("\n\n", 1)[0]
    return {code: int(status) for code, status in re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", table, re.M)}


def test_docs_list_every_error_code_with_its_status() -> None:
    documented = documented_codes()
    expected = {code: error.status for code, error in ERRORS.items()}
    rows = "\n".join(
        f"| `{code}` | {e.status} | {e.meaning} |"
        for code, e in ERRORS.items()
        if documented.get(code) != e.status
    )
    assert documented == expected, f"docs/api.md's error-code table should have (in ERRORS' order):\n{rows}"


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("schema") / "schema.json"
    # --fail-on-warn: an APIView the generator cannot read, or two components with one name.
    call_command(
        "spectacular", "--file", str(out), "--format", "openapi-json", "--fail-on-warn", "--validate"
    )
    return json.loads(out.read_text(encoding="utf-8"))


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_every_operation_declares_the_errors_it_can_meet(schema: dict[str, Any]) -> None:
    problems = []
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        # Signing in, and other provinces' systems with signed messages (docs/exchange.md).
        # The citizens' doors under /public/ (网上预约 …) need no login either.
        public = path in {"/api/v1/auth/token", "/api/v1/exchange/messages"} or path.startswith(
            "/api/v1/public/"
        )
        need = set() if public else {"401", "403"}
        if "{" in path:
            need.add("404")
        if method != "GET" or any(p["in"] == "query" for p in operation.get("parameters", [])):
            need.add("400")
        if missing := need - responses.keys():
            problems.append(f"{method} {path} lacks {sorted(missing)}")
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                codes = response["content"]["application/json"]["schema"]["properties"]["code"]["enum"]
                problems += [
                    f"{method} {path} {status}: {c} is a {ERRORS[c].status}"
                    for c in codes
                    if str(ERRORS[c].status) != status
                ]
    assert not problems, "\n".join(problems)


def test_operation_ids_are_unique_and_lists_are_pages(schema: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(schema)]
    assert len(ids) == len(set(ids))
    arrays = [
        f"{method} {path}"
        for method, path, operation in operations(schema)
        if operation["responses"]
        .get("200", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("type")
        == "array"
        and any(p["name"] == "after" for p in operation.get("parameters", []))
    ]
    assert not arrays, f"keyset-paginated lists declared as bare arrays: {arrays}"
