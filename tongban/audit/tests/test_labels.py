"""Every action the code writes has a Chinese name (audit/labels.py): read from the code itself, so
an action added anywhere without its label fails here."""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tongban.audit import labels

ROOT = Path(labels.__file__).resolve().parents[1]
EVENT_WRITERS = {"application_event", "application_transition"}
AUDIT_WRITERS = {"record"}
# Where an action arrives as a parameter and is written on: checked through their callers.
PASS_THROUGH = {
    ("intake/services.py", "application_transition"),  # → application_event(action=action)
    ("intake/services.py", "application_event"),  # → record(action=f"application.{action}")
    ("registry/admin.py", "_audit"),  # → record(action=f"admin.{verb}"), verbs read below
    # The demo's bulk history: its actions are checked on the rows it writes (demo/tests/test_history.py).
    ("demo/history.py", "_one"),
}
CHINESE = re.compile(r"^[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef（）、“”·0-9]+$")


@dataclass(frozen=True)
class Write:
    kind: str  # "event" or "audit"
    action: str | None  # None: not a constant
    where: str
    function: str


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)


def _constant(node: ast.expr, module: str) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        value = getattr(importlib.import_module(module), node.id, None)
        return value if isinstance(value, str) else None
    return None


def _writes() -> list[Write]:
    found: list[Write] = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "tests" in relative.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {
            child: node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for child in ast.walk(node)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            keywords = {k.arg for k in node.keywords}
            kind = "event" if name in EVENT_WRITERS else "audit" if name in AUDIT_WRITERS else None
            if kind is None and {"action", "to_status"} <= keywords:
                kind = "event"  # an ApplicationEvent written directly (a bulk fix, a data migration)
            if kind is None:
                continue
            for keyword in node.keywords:
                if keyword.arg == "action":
                    found.append(
                        Write(
                            kind,
                            _constant(keyword.value, _module_name(path)),
                            f"{relative}:{node.lineno}",
                            functions.get(node, ""),
                        )
                    )
    return found


def _admin_verbs() -> set[str]:
    tree = ast.parse((ROOT / "registry" / "admin.py").read_text(encoding="utf-8"))
    verbs = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "_audit":
            # A literal, or a choice of literals ("change" if change else "create").
            choices = [str(n.value) for n in ast.walk(node.args[2]) if isinstance(n, ast.Constant)]
            assert choices, f"registry/admin.py:{node.lineno}: write the verb as a literal"
            verbs.update(choices)
    return verbs


WRITES = _writes()


def test_the_walk_finds_the_writers() -> None:
    # Guards the walk itself: the known writers are found, so an empty result cannot pass.
    actions = {w.action for w in WRITES}
    assert {"accepted", "issued", "handed_over", "supervised"} <= actions
    assert {"person.view", "auth.login", "application.print", "dataquality.change.decide"} <= actions
    assert len(WRITES) > 80


@pytest.mark.parametrize("write", WRITES, ids=lambda w: f"{w.where}:{w.action}")
def test_every_written_action_has_a_chinese_label(write: Write) -> None:
    if write.action is None:
        assert (write.where.split(":")[0], write.function) in PASS_THROUGH, (
            f"{write.where}: write the action as a string literal or a module constant, so its label "
            "can be checked (tongban/audit/labels.py)"
        )
        return
    if write.kind == "event":
        assert write.action in labels.EVENT_LABELS, (
            f"{write.where}: add {write.action!r} to EVENT_LABELS in tongban/audit/labels.py"
        )
    else:
        assert labels.is_labelled(write.action), (
            f"{write.where}: add {write.action!r} to ACTION_LABELS in tongban/audit/labels.py"
        )


def test_admin_changes_have_labels() -> None:
    verbs = _admin_verbs()
    assert verbs == {"create", "change", "delete"}
    for verb in verbs:
        assert labels.is_labelled(f"admin.{verb}")


def test_labels_are_chinese() -> None:
    for code, label in {**labels.EVENT_LABELS, **labels.all_action_labels()}.items():
        assert CHINESE.match(label), (code, label)
    assert CHINESE.match(labels.UNKNOWN_ACTION_LABEL)


def test_application_events_are_audit_actions_of_the_same_name() -> None:
    for event, label in labels.EVENT_LABELS.items():
        assert labels.action_label(f"application.{event}") == label


def test_an_unknown_code_never_shows_itself() -> None:
    assert labels.event_label("no_such_event") == labels.UNKNOWN_ACTION_LABEL
    assert labels.action_label("no.such_action") == labels.UNKNOWN_ACTION_LABEL
    assert labels.action_label("application.no_such_event") == labels.UNKNOWN_ACTION_LABEL


def _object_types() -> set[str]:
    found = set()
    for path in sorted(ROOT.rglob("*.py")):
        if {"tests", "migrations"} & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "record"
            ):
                for keyword in node.keywords:
                    if keyword.arg == "object_type" and isinstance(keyword.value, ast.Constant):
                        found.add(str(keyword.value.value))
    return found


@pytest.mark.django_db
def test_every_object_type_the_code_writes_is_named() -> None:
    types = _object_types()
    assert {"intake.application", "user", "finance.settlement"} <= types
    unnamed = sorted(t for t in types if labels.object_type_label(t) == "记录")
    assert not unnamed, f"add them to OBJECT_TYPE_LABELS in tongban/audit/labels.py: {unnamed}"


def test_object_types_are_named() -> None:
    assert labels.object_type_label("intake.application") == "申领"
    assert labels.object_type_label("registry.person") == "人员"
    assert labels.object_type_label("person") == "人员"
    assert labels.object_type_label("no.such") == "记录"
    assert labels.object_type_label("") == ""
