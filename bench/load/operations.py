"""The API operations the load test calls (docs/api.md), each by the name Locust reports it under,
with the kind of goal it is held to. tests/test_load_locustfile.py checks every path and method
against the served OpenAPI schema, so an API rename breaks that test, not the benchmark.

No Django and no Locust here (the locustfile and the lifecycle driver both use it)."""

from __future__ import annotations

from typing import Any

# name → (method, path under the server, kind). Kinds: "lookup", "record" (one full record),
# "list" (a list or a queue), "accept" (受理), "write" (the other actions), "dashboard".
OPERATIONS: dict[str, tuple[str, str, str]] = {
    "auth.token": ("POST", "/api/v1/auth/token", "write"),
    "people.search": ("GET", "/api/v1/people", "lookup"),
    "people.lookup": ("POST", "/api/v1/people/lookup", "lookup"),
    "people.get": ("GET", "/api/v1/people/{id}", "record"),
    "applications.list": ("GET", "/api/v1/applications", "list"),
    "applications.accept": ("POST", "/api/v1/applications", "accept"),
    "applications.get": ("GET", "/api/v1/applications/{number}", "record"),
    "review.queue": ("GET", "/api/v1/review/queue", "list"),
    "review.take": ("POST", "/api/v1/applications/{number}/review/take", "write"),
    "review.decide": ("POST", "/api/v1/applications/{number}/review/decide", "write"),
    "production.queue": ("GET", "/api/v1/production/queue", "list"),
    "production.batches": ("GET", "/api/v1/production/batches", "list"),
    "production.batch_create": ("POST", "/api/v1/production/batches", "write"),
    "production.batch": ("GET", "/api/v1/production/batches/{id}", "record"),
    "production.package": ("POST", "/api/v1/production/batches/{id}/package", "write"),
    "production.feedback": ("POST", "/api/v1/production/feedback", "write"),
    "shipments.list": ("GET", "/api/v1/shipments", "list"),
    "shipments.get": ("GET", "/api/v1/shipments/{id}", "record"),
    "shipments.create": ("POST", "/api/v1/shipments", "write"),
    "shipments.receive": ("POST", "/api/v1/shipments/{id}/receive", "write"),
    "shipments.forward": ("POST", "/api/v1/shipments/forward", "write"),
    "handover.ready": ("GET", "/api/v1/handover/ready", "list"),
    "handover.perform": ("POST", "/api/v1/applications/{number}/handover", "write"),
    "verifications.list": ("GET", "/api/v1/verifications", "list"),
    "supervision.dashboard": ("GET", "/api/v1/supervision/dashboard", "dashboard"),
    "supervision.drilldown": ("GET", "/api/v1/supervision/dashboard", "dashboard"),
    "supervision.stuck": ("GET", "/api/v1/supervision/stuck", "list"),
}

# The answers that mean "someone else acted first" under concurrency (docs/api.md: 409s): the
# user moves on. Counted and reported apart, not as errors.
CONFLICTS: dict[str, frozenset[str]] = {
    "review.take": frozenset({"taken", "already_decided", "other_unit", "step_decided"}),
    "review.decide": frozenset({"taken", "step_decided", "already_decided", "other_unit", "not_holder"}),
    "production.batch_create": frozenset({"queue_empty", "batch_conflict"}),
    "shipments.receive": frozenset({"already_received"}),
    "shipments.forward": frozenset({"nothing_to_forward"}),
    "shipments.create": frozenset({"already_shipped", "cannot_ship"}),
    "handover.perform": frozenset({"not_at_site", "no_card"}),
    "production.feedback": frozenset(),
}

# Goals (issue 13 §4), per kind: p95 in milliseconds. Acceptance adds its biometric time.
GOAL_P95_MS = {"lookup": 100.0, "record": 100.0, "list": 100.0, "accept": 300.0}


def path(name: str, **params: Any) -> str:
    return OPERATIONS[name][1].format(**params)


def uses(*names: str) -> Any:
    """Declares the operations a Locust task calls (checked by the test against the schema)."""
    for name in names:
        if name not in OPERATIONS:
            raise KeyError(f"unknown operation {name}")

    def mark(function: Any) -> Any:
        function.operations = names
        return function

    return mark
