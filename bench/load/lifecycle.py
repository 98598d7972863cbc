"""The database cost of one full lifecycle, driven through the API one step at a time (nothing
else running): accept → review (take and 签发 at each step of the chain) → 调度打包 → 生成数据包 →
制证回馈 (produced) → 分发 → 签收 at the county, 质检转发, 签收 at the station → 发放 (in person, the
finger compared). pg_stat_statements is reset after the centre's queue for the station was emptied
(those batches are not counted), and read after the last handover: its total execution and
planning time over K lifecycles is the database time of one. The K applications travel together
in one batch and one shipment, as a centre batches them."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import psycopg
import requests

from bench.load import cluster
from bench.load.bodies import acceptance_body, card_serial, handover_body, tracking_number
from bench.load.common import ACCEPTANCE_STATION, ACCOUNT_UNITS, say
from bench.load.operations import path

BATCH_MAX = 10_000


class Api:
    """One session per account; every call checked (the lifecycle must go through)."""

    def __init__(self, base: str, tokens: dict[str, str]) -> None:
        self.base = base
        self.sessions: dict[str, requests.Session] = {}
        for account, token in tokens.items():
            session = requests.Session()
            session.headers["Authorization"] = f"Token {token}"
            self.sessions[account] = session
        self.calls: Counter[str] = Counter()

    def __call__(
        self,
        account: str,
        name: str,
        *,
        body: Any = None,
        params: Any = None,
        expect: tuple[int, ...] = (200, 201),
        **kw: Any,
    ) -> Any:
        from bench.load.operations import OPERATIONS

        method = OPERATIONS[name][0]
        response = self.sessions[account].request(
            method, self.base + path(name, **kw), json=body, params=params, timeout=300
        )
        self.calls[name] += 1
        if response.status_code not in expect:
            raise RuntimeError(f"{name} as {account}: {response.status_code} {response.text[:400]}")
        return response.json() if response.content else None


def account_at(unit: str, role: str) -> str:
    for account, code in ACCOUNT_UNITS.items():
        if code == unit and account.startswith(role):
            return account
    raise RuntimeError(f"no demo {role} at {unit}")


def drain(api: Api) -> int:
    """Batch whatever already waits for production at the station, so the measured batch holds
    the K lifecycles alone (not measured)."""
    drained = 0
    while True:
        response = api.sessions["centre_operator"].post(
            api.base + path("production.batch_create"),
            json={"acceptance_unit": ACCEPTANCE_STATION, "size": BATCH_MAX},
            timeout=300,
        )
        if response.status_code == 409:
            return drained
        if response.status_code != 201:
            raise RuntimeError(f"draining the queue: {response.status_code} {response.text[:300]}")
        drained += int(response.json()["size"])


def statements() -> dict[str, Any]:
    with psycopg.connect(cluster.URL) as conn:
        total = conn.execute(
            "SELECT coalesce(sum(calls), 0), coalesce(sum(total_exec_time), 0),"
            " coalesce(sum(total_plan_time), 0),"
            " coalesce(sum(rows), 0), coalesce(sum(shared_blks_read), 0)"
            " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
            " WHERE d.datname = current_database() AND s.query NOT ILIKE '%%pg_stat_statements%%'"
        ).fetchone()
        top = conn.execute(
            "SELECT regexp_replace(left(s.query, 160), '\\s+', ' ', 'g'), s.calls,"
            " round(s.total_exec_time::numeric, 1), round(s.total_plan_time::numeric, 1)"
            " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
            " WHERE d.datname = current_database() AND s.query NOT ILIKE '%%pg_stat_statements%%'"
            " ORDER BY s.total_exec_time + s.total_plan_time DESC LIMIT 12"
        ).fetchall()
    assert total is not None
    calls, exec_ms, plan_ms, rows, read = total
    return {
        "calls": int(calls),
        "exec_ms": float(exec_ms),
        "plan_ms": float(plan_ms),
        "rows": int(rows),
        "shared_blocks_read": int(read),
        "top": [
            {
                "query": q,
                "calls": int(c),
                "exec_ms": float(e),
                "plan_ms": float(pl),
                "ms": float(e) + float(pl),
            }
            for q, c, e, pl in top
        ],
    }


def reset() -> None:
    with psycopg.connect(cluster.URL, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")


def run(
    base: str, tokens: dict[str, str], applicants: list[dict[str, Any]], data: dict[str, Any]
) -> dict[str, Any]:
    api = Api(base, tokens)
    k = len(applicants)
    drained = drain(api)
    say(f"lifecycles: {k}, after batching the {drained} waiting at {ACCEPTANCE_STATION} (not counted)")
    reset()
    began = time.perf_counter()
    numbers = []
    steps: Counter[str] = Counter()
    for applicant in applicants:
        item = api("clerk", "applications.accept", body=acceptance_body(data, applicant), expect=(201,))
        numbers.append(item["number"])
        # Each step's reviewer opens the item, takes it and issues (签发: passed on, or issued at
        # the last step); the decision answers with the application.
        for _ in range(6):
            if item["status"] == "issued":
                break
            review = item["review"]
            reviewer = account_at(review["unit"]["code"], "reviewer")
            api(reviewer, "applications.get", number=item["number"])
            api(reviewer, "review.take", number=item["number"])
            item = api(
                reviewer,
                "review.decide",
                number=item["number"],
                body={"step": review["step"], "decision": "issue", "reason": "信息核对无误"},
            )
            steps[reviewer] += 1
        else:
            raise RuntimeError(f"{item['number']} not issued after six review steps")
    batch = api(
        "centre_operator",
        "production.batch_create",
        body={"acceptance_unit": ACCEPTANCE_STATION, "size": k},
        expect=(201,),
    )
    if sorted(item["number"] for item in batch["items"]) != sorted(numbers):
        raise RuntimeError("the batch does not hold exactly the lifecycles' applications")
    api("centre_operator", "production.package", id=batch["id"])
    lines = [
        {
            "batch": batch["number"],
            "number": n,
            "result": "produced",
            "card_serial": card_serial("LC", batch["id"], i),
        }
        for i, n in enumerate(numbers)
    ]
    report = api("centre_operator", "production.feedback", body={"lines": lines})
    if report["counts"]["applied"] != k:
        raise RuntimeError(f"production feedback: {report['counts']}")
    tracking = {n: tracking_number("LC", batch["id"], i) for i, n in enumerate(numbers)}
    shipments = api(
        "centre_operator",
        "shipments.create",
        body={"applications": numbers, "tracking_numbers": tracking},
        expect=(201,),
    )
    pending = list(shipments)
    while pending:
        shipment = pending.pop(0)
        destination = shipment["destination"]["code"]
        receiver = account_at(destination, "distributor")
        api(receiver, "shipments.receive", id=shipment["id"], body={"note": "清点无误"})
        if len(destination) == 6:  # a county bureau: 质检, then forward to the stations
            mine = [item["number"] for item in shipment["items"]]
            pending += api(receiver, "shipments.forward", body={"applications": mine}, expect=(201,))
    for number in numbers:
        handed = api(
            "distributor", "handover.perform", number=number, body=handover_body(data), expect=(201,)
        )
        if handed["application"]["status"] != "handed_over":
            raise RuntimeError(f"{number}: {handed['application']['status']} after the handover")
    wall = time.perf_counter() - began
    cost = statements()
    requests_made = sum(api.calls.values())
    db_ms = (cost["exec_ms"] + cost["plan_ms"]) / k
    exec_only = cost["exec_ms"] / k
    return {
        "lifecycles": k,
        "drained_first": drained,
        "review_steps": dict(steps),
        "finger_check": handed.get("finger_check"),
        "http_requests": requests_made,
        "http_requests_per_lifecycle": round(requests_made / k, 1),
        "wall_s": round(wall, 1),
        "statements": cost["calls"],
        "statements_per_lifecycle": round(cost["calls"] / k, 1),
        "exec_ms": round(cost["exec_ms"], 1),
        "plan_ms": round(cost["plan_ms"], 1),
        "db_ms_per_lifecycle": round(db_ms, 2),
        "exec_ms_per_lifecycle": round(exec_only, 2),
        "rows_per_lifecycle": round(cost["rows"] / k, 1),
        "top_statements": cost["top"],
    }
