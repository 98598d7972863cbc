"""Locust user classes for the load test, through the REST API (docs/api.md) with the demo
accounts' tokens: counter clerks, reviewers, the centre's operator, county and station
distributors, supervisors. Each operation is a request named after bench/load/operations.py, so
Locust reports it on its own line.

`python -m bench.load.run` writes what the users need (tokens, applicants, people to look up,
the sample photos and prints) to a JSON file and passes its path in LOAD_DATA; without it the
classes still import (tests/test_load_locustfile.py checks their operations against the schema).

Think times are a working day compressed about tenfold: a clerk looks people up and reads
records every few seconds and accepts an application (a real photo, two thumbs) every half
minute or so; reviewers take and decide what reaches their unit; the centre batches, packages,
records production and ships; distributors receive, forward and hand over; supervisors read
dashboards. A 409 that means somebody else acted first (docs/api.md) is reported as a CONFLICT
line, not as an error."""

from __future__ import annotations

import itertools
import json
import os
import random
from collections import deque
from typing import Any, ClassVar

from locust import HttpUser, between, events, task

from bench.load.bodies import acceptance_body, card_serial, handover_body, tracking_number
from bench.load.operations import CONFLICTS, OPERATIONS, uses

DATA: dict[str, Any] = {}
if os.environ.get("LOAD_DATA"):
    with open(os.environ["LOAD_DATA"], encoding="utf-8") as handle:
        DATA = json.load(handle)

# Applicants not yet accepted, shared by the clerks of this process.
POOL: deque[dict[str, Any]] = deque(DATA.get("pool", []))
REFUSE_SHARE = 0.03  # 不予签发 of what reviewers decide


class ApiUser(HttpUser):
    """A member of staff signed in with a token of one of `accounts`, taken in turn."""

    abstract = True
    accounts: ClassVar[tuple[str, ...]] = ()
    _turn: ClassVar[itertools.count[int]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._turn = itertools.count()

    def on_start(self) -> None:
        self.account = self.accounts[next(self._turn) % len(self.accounts)]
        self.headers = {"Authorization": f"Token {DATA['tokens'][self.account]}"}

    def call(
        self,
        name: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        expect: tuple[int, ...] = (200,),
        **path: Any,
    ) -> Any:
        """One operation; the answer's JSON when its status is expected, else None (a failure,
        or a CONFLICT line for a 409 that means somebody else acted first)."""
        method, template, _kind = OPERATIONS[name]
        with self.client.request(
            method,
            template.format(**path),
            params=params,
            json=body,
            headers=self.headers,
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code in expect:
                response.success()
                try:
                    return response.json()
                except ValueError:
                    return {}
            try:
                code = response.json().get("code", "")
            except ValueError:
                code = ""
            if response.status_code == 409 and code in CONFLICTS.get(name, ()):
                response.success()
                events.request.fire(
                    request_type="CONFLICT",
                    name=f"{name} {code}",
                    response_time=response.elapsed.total_seconds() * 1000,
                    response_length=0,
                    exception=None,
                    context={},
                )
                return None
            response.failure(f"{response.status_code} {code or response.text[:80]}")
            return None


class Clerk(ApiUser):
    """受理员 at 东湖区城关派出所: searches and looks people up, opens records and the ledger,
    accepts applications (a camera frame of a real face, both thumbs)."""

    weight = 10
    wait_time = between(3, 10)
    accounts = ("clerk",)

    @task(4)
    @uses("people.lookup")
    def lookup(self) -> None:
        self.call("people.lookup", body={"id_number": random.choice(DATA["lookup"])})

    @task(3)
    @uses("people.search", "people.get")
    def search_and_open(self) -> None:
        person = random.choice(DATA["station_people"])
        found = self.call("people.search", params={"name": person["name"]})
        if found and found.get("results"):
            self.call("people.get", id=random.choice(found["results"])["id"])

    @task(2)
    @uses("applications.list", "applications.get")
    def ledger(self) -> None:
        page = self.call("applications.list", params={"view": random.choice(["all", "in_review", "issued"])})
        if page and page.get("results"):
            self.call("applications.get", number=random.choice(page["results"])["number"])

    @task(2)
    @uses("people.lookup", "applications.accept", "applications.get")
    def accept(self) -> None:
        if not POOL:
            return
        applicant = POOL.popleft()
        record = self.call("people.lookup", body={"id_number": applicant["id_number"]})
        if record is None:
            return
        accepted = self.call("applications.accept", body=acceptance_body(DATA, applicant), expect=(201,))
        if accepted:
            self.call("applications.get", number=accepted["number"])


class Reviewer(ApiUser):
    """审核 at the three units of 南昌市's chain: reads the queue, opens an item (with its face
    hits), takes it and decides (签发, or now and then 不予签发)."""

    weight = 4
    wait_time = between(4, 12)
    accounts = ("reviewer", "reviewer_donghu", "reviewer_nanchang")

    @task(3)
    @uses("review.queue")
    def queue(self) -> None:
        self.call("review.queue", params={"scope": random.choice(["mine", "mine", "subtree"])})

    @task(2)
    @uses("review.queue", "applications.get", "review.take", "review.decide")
    def decide(self) -> None:
        queue = self.call("review.queue", params={"scope": "mine"})
        waiting = [row for row in (queue or {}).get("results", []) if not row.get("assignee")]
        if not waiting:
            return
        number = random.choice(waiting[:10])["number"]
        item = self.call("applications.get", number=number)
        if not item or not item.get("review"):
            return
        if self.call("review.take", number=number) is None:
            return
        body: dict[str, Any] = {"step": item["review"]["step"], "decision": "issue", "reason": "信息核对无误"}
        if random.random() < REFUSE_SHARE:
            body = {
                "step": item["review"]["step"],
                "decision": "refuse",
                "refusal_reason": "07",
                "reason": "未能提供居住证明材料",
            }
        self.call("review.decide", number=number, body=body)


class CentreOperator(ApiUser):
    """制证中心操作员 of the provincial centre: the queue, batches, and a production cycle:
    调度打包, 生成数据包, 制证回馈 (every card produced), 分发."""

    fixed_count = 1
    wait_time = between(10, 30)
    accounts = ("centre_operator",)

    @task(3)
    @uses("production.queue")
    def queue(self) -> None:
        self.call("production.queue")

    @task(2)
    @uses("production.batches", "production.batch")
    def batches(self) -> None:
        page = self.call("production.batches")
        if page and page.get("results"):
            self.call("production.batch", id=random.choice(page["results"][:5])["id"])

    @task(1)
    @uses(
        "production.batch_create",
        "production.package",
        "production.batch",
        "production.feedback",
        "shipments.create",
    )
    def produce(self) -> None:
        batch = self.call("production.batch_create", body={"size": DATA.get("batch_size", 50)}, expect=(201,))
        if not batch:
            return
        if self.call("production.package", id=batch["id"]) is None:
            return
        detail = self.call("production.batch", id=batch["id"])
        if not detail:
            return
        numbers = [item["number"] for item in detail["items"]]
        lines = [
            {
                "batch": detail["number"],
                "number": number,
                "result": "produced",
                "card_serial": card_serial("LT", detail["id"], i),
            }
            for i, number in enumerate(numbers)
        ]
        self.call("production.feedback", body={"lines": lines})
        tracking = {number: tracking_number("LT", detail["id"], i) for i, number in enumerate(numbers)}
        self.call(
            "shipments.create", body={"applications": numbers, "tracking_numbers": tracking}, expect=(201,)
        )


class CountyDistributor(ApiUser):
    """东湖分局's distributor: receives the centre's shipments (质检) and forwards them to the
    stations."""

    fixed_count = 1
    wait_time = between(10, 30)
    accounts = ("distributor_donghu",)

    @task
    @uses("shipments.list", "shipments.receive", "shipments.forward")
    def receive_and_forward(self) -> None:
        receive_incoming(self)
        self.call("shipments.forward", body={}, expect=(201,))


def receive_incoming(user: ApiUser) -> None:
    page = user.call("shipments.list", params={"view": "incoming"})
    for shipment in (page or {}).get("results", [])[:3]:
        if shipment.get("state") not in ("received", "delivered"):
            user.call("shipments.receive", id=shipment["id"], body={"note": "清点无误"})


class StationDistributor(ApiUser):
    """The station's distributor: receives shipments, hands cards over (the finger compared),
    reads the verifications owed."""

    weight = 2
    wait_time = between(5, 15)
    accounts = ("distributor",)

    @task(1)
    @uses("shipments.list", "shipments.receive")
    def receive(self) -> None:
        receive_incoming(self)

    @task(3)
    @uses("handover.ready", "handover.perform")
    def hand_over(self) -> None:
        page = self.call("handover.ready")
        rows = (page or {}).get("results", [])
        if not rows:
            return
        number = random.choice(rows[:20])["number"]
        self.call("handover.perform", number=number, body=handover_body(DATA), expect=(201,))

    @task(1)
    @uses("verifications.list")
    def verifications(self) -> None:
        self.call("verifications.list", params={"view": random.choice(["due", "overdue"])})


class Supervisor(ApiUser):
    """督导 at the province, 南昌市 and 东湖分局: the dashboard, a unit below, stuck items."""

    weight = 2
    wait_time = between(10, 30)
    accounts = ("supervisor", "supervisor_province", "supervisor_donghu")

    @task(2)
    @uses("supervision.dashboard")
    def dashboard(self) -> None:
        self.call("supervision.dashboard")

    @task(2)
    @uses("supervision.drilldown")
    def drill_down(self) -> None:
        below = DATA["children"].get(self.account) or []
        if below:
            self.call("supervision.drilldown", params={"unit": random.choice(below)})

    @task(1)
    @uses("supervision.stuck")
    def stuck(self) -> None:
        self.call("supervision.stuck")


USER_CLASSES = (Clerk, Reviewer, CentreOperator, CountyDistributor, StationDistributor, Supervisor)
