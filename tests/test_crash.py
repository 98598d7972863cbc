"""Crash safety of the whole life of applications (issue 16 §2). The product runs as it is
deployed, each part a process of its own over a real database: the web server (`tongban
runserver`, as `make run` starts it), job workers (`tongban run_huey`) and the face engine
(`tongban abis serve`, the `service` engine mode). Clerks' terminals accept applications through
the API at once, while the household station's reviewers issue them, the provincial centre
batches, packages, reports them produced and ships them, and the station receives the cards and
hands them over — all through the API. Meanwhile one of the three processes is killed (`kill -9`)
at a random moment and started again, over and over.

Once the kills are over and every application has reached its end, the checks:
- every acceptance that answered 2xx is there and complete (photo, face template, fee, history),
  and a refused acceptance refused only a person whose earlier try went through unanswered;
- every application's history is a path of `Transition` moves from 草稿 to its status;
- no 受理号 twice in a station's daily sequence;
- every batch's package opens with the centre's key (`tongban package open`);
- the audit log verifies (`tongban audit seal`, then `tongban audit verify`);
- every notification was sent, with its idempotency key, and twice only when a worker was killed
  between sending it and recording it (at most one a worker thread a kill).
It prints the counts: requests, answers by status, kills, applications per final status, checks.

Short form in the suite (about a minute); the long form (docs/development.md, Tests):
`TONGBAN_TEST_CRASH_APPLICATIONS=10000` (kills grow with the applications)."""

from __future__ import annotations

import base64
import datetime
import functools
import http.client
import io
import json
import os
import queue
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from huey.contrib.djhuey import HUEY

from tongban.accounts.models import User
from tongban.accounts.services import api_token_issue
from tongban.audit.verify import verify
from tongban.biometrics.models import BiometricTemplate
from tongban.core.crypto import SM2KeyPair
from tongban.finance.models import Payment
from tongban.intake.models import Application, ApplicationEvent
from tongban.intake.services import application_ref
from tongban.intake.transitions import Transition
from tongban.notifications import tasks
from tongban.notifications.models import Message
from tongban.production import services as production_services
from tongban.production.models import Batch
from tongban.registry.models import Unit
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas
from tongban.testing.processes import Command, Engine, WebServer, Worker, free_port

# Flushing after a transactional test would delete audit rows, which the database refuses.
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]

APPLICATIONS = int(os.environ.get("TONGBAN_TEST_CRASH_APPLICATIONS", "30"))
KILLS = max(6, APPLICATIONS // 10)  # spread over the three kinds of process
CLERKS = 6  # terminals accepting at once
# The station's reviewers, each deciding its share of the queue. One alone, a decision a request
# behind six terminals on one web process, fell ever further behind in the 10,000 run.
REVIEWERS = 3
WORKERS, THREADS = 2, 2
STATION = "360102001"  # 东湖区城关派出所: acceptance and household station of every applicant
CENTRE = "360000901"  # 省公安厅居民身份证制证中心
BATCH_SIZE = max(10, APPLICATIONS // 40)  # a few dozen batches at most: one page of the API's lists
LEASE_SECONDS = 6  # a killed worker's message goes again within seconds
DEADLINE = 120.0 + APPLICATIONS  # seconds for the end of the story once the kills are over
START = 120.0  # seconds for a process to come up on a busy machine
NO_FINGERS = [
    {"position": str(position), "result": "not_registered", "reason": "手指受伤，无法采集"}
    for position in range(11, 21)
]
NO_ANSWER = 0  # the status noted for a request the killed server never answered


class Api:
    """One person's terminal: JSON requests with their token to the web server, counted."""

    def __init__(self, base: str, token: str, counts: Counter[int], lock: threading.Lock) -> None:
        self.base, self.token, self.counts, self.lock = base, token, counts, lock

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, JSON body); (NO_ANSWER, None) when the server died under the request."""
        request = urllib.request.Request(  # noqa: S310 (our own server)
            self.base + "/api/v1/" + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (our own server)
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            try:
                status, raw = error.code, error.read()
            except (OSError, http.client.HTTPException):  # the kill took the refusal's body
                status, raw = NO_ANSWER, b""
        except (OSError, http.client.HTTPException):  # refused, reset or cut off by a kill: a pause
            status, raw = NO_ANSWER, b""
            time.sleep(0.2)
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:  # a body cut off by the kill
            status, answer = NO_ANSWER, None
        if answer is None and 200 <= status < 300 and status != 204:
            status = NO_ANSWER  # the headers came, the kill took the body: no answer either
        with self.lock:
            self.counts[status] += 1
        return status, answer


class Plant:
    """The processes of one deployment, each started again after its kill."""

    def __init__(
        self, env: dict[str, str], tmp_path: Path, *, port: int, engine_port: int, token: str
    ) -> None:
        self.env, self.tmp_path, self.token = env, tmp_path, token
        self.port, self.engine_port = port, engine_port
        self.web = self._start("web")
        self.engine = self._start("engine")
        self.workers = [self._start("worker", n) for n in range(WORKERS)]
        self.kills: Counter[str] = Counter()

    def _start(self, kind: str, n: int = 0) -> Any:
        log = self.tmp_path / f"{kind}-{n}.log"
        if kind == "web":
            return WebServer(self.env, log, port=self.port)
        if kind == "engine":
            index = self.tmp_path / "engine"
            return Engine(self.env, log, port=self.engine_port, index_dir=index, token=self.token)
        return Worker(self.env, log, threads=THREADS)

    def all(self) -> list[Command]:
        return [self.web, self.engine, *self.workers]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START
        for process in self.all():
            while not process.ready():  # type: ignore[attr-defined]
                assert process.alive(), f"a process died by itself:\n{process.output()}"
                assert time.monotonic() < deadline, f"not up after {START} s:\n{process.output()}"
                time.sleep(0.1)

    def kill_one(self, kind: str, rng: random.Random) -> None:
        """kill -9 of one process of `kind`, and its restart."""
        if kind == "worker":
            n = rng.randrange(WORKERS)
            self.workers[n].kill()
            self.workers[n] = self._start("worker", n)
        elif kind == "web":
            self.web.kill()
            self.web = self._start("web")
        else:
            self.engine.kill()
            self.engine = self._start("engine")
        self.kills[kind] += 1

    def check_alive(self) -> None:
        for process in self.all():
            assert process.alive(), f"a process died by itself:\n{process.output()}"

    def stop(self) -> None:
        for process in self.all():
            process.kill()


def _accept_body(id_number: str, photo: str, n: int) -> dict[str, Any]:
    return {
        "id_number": id_number,
        "type": "first",
        "reason": "12",
        "residence_address": "江西省南昌市东湖区八一大道100号",
        "phone": f"138{n:08d}",
        "materials_shown": ["household_book", "residence_proof"],
        "pledge_signed": True,
        "photo": photo,
        "fingers": NO_FINGERS,
    }


class Office:
    """What the staff after the counter do, each stage from what the API lists as waiting, so
    that a lost answer is simply found again as work (or as done) on the next round."""

    def __init__(self, reviewer: Api, centre: Api, distributor: Api) -> None:
        self.reviewer, self.centre, self.distributor = reviewer, centre, distributor
        self.shipped_batches: set[int] = set()
        self.counter_closed = threading.Event()  # from then on, a batch of what is left

    def review(self, part: int) -> None:
        """One of the station's REVIEWERS, deciding its share of the queue's first page straight
        from the rows (a row names the step; a stale one is refused and looked at again)."""
        status, page = self.reviewer("GET", "review/queue")
        for row in page["results"] if status == 200 else []:
            if int(row["number"][-4:]) % REVIEWERS != part:
                continue
            if row["status"] in {"pending_review", "under_verification"}:
                decision = {"step": row["step"], "decision": "issue", "reason": "信息核对无误"}
                self.reviewer("POST", f"applications/{row['number']}/review/decide", decision)

    def produce(self) -> None:
        status, waiting = self.centre("GET", "production/queue")
        if status == 200 and waiting["total"] >= (1 if self.counter_closed.is_set() else BATCH_SIZE):
            self.centre("POST", "production/batches", {"acceptance_unit": STATION})
        for batch in self._batches("open"):
            self.centre("POST", f"production/batches/{batch['id']}/package")
        for batch in self._batches("packaged"):
            status, detail = self.centre("GET", f"production/batches/{batch['id']}")
            if status != 200:
                continue
            lines = [
                {
                    "batch": detail["number"],
                    "number": item["number"],
                    "result": "produced",
                    "card_serial": f"JX36-{detail['id']:05d}-{n:05d}",
                }
                for n, item in enumerate(detail["items"])
            ]
            self.centre("POST", "production/feedback", {"lines": lines})

    def ship(self) -> None:
        for batch in self._batches("closed"):
            if batch["id"] in self.shipped_batches:
                continue
            status, detail = self.centre("GET", f"production/batches/{batch['id']}")
            if status != 200:
                continue
            numbers = [item["number"] for item in detail["items"] if item["result"] == "produced"]
            status, _ = self.centre("POST", "shipments", {"applications": numbers})
            if status == 409:
                # An earlier try went through unanswered: one request ships all its cards or none,
                # so the shipment holding the first says. (The centre may not open an application:
                # asking for each, as this did before, was refused every time, and the batch was
                # tried again every round, 250 requests each, until a kill cut one short.)
                found, page = self.centre("GET", f"shipments?q={numbers[0]}")
                if found == 200 and page["count"]:
                    status = 201
            if status == 201:
                self.shipped_batches.add(batch["id"])

    def hand_over(self) -> None:
        status, incoming = self.distributor("GET", "shipments?view=incoming")
        for shipment in incoming["results"] if status == 200 else []:
            self.distributor("POST", f"shipments/{shipment['id']}/receive", {"note": "完好"})
        status, ready = self.distributor("GET", "handover/ready")
        for row in ready["results"] if status == 200 else []:
            body = {"way": "in_person", "paper_signed": True}
            self.distributor("POST", f"applications/{row['number']}/handover", body)

    def _batches(self, state: str) -> list[dict[str, Any]]:
        status, page = self.centre("GET", f"production/batches?state={state}")
        return list(page["results"]) if status == 200 else []


def _until(
    condition: Callable[[], bool], what: str, plant: Plant, threads: list[Future[None]], seen: Any
) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        plant.check_alive()
        for thread in threads:
            if thread.done():
                thread.result()  # a client's failure, raised here rather than after the deadline
        statuses = Counter(Application.objects.values_list("status", flat=True))
        assert time.monotonic() < end, f"no {what} after {DEADLINE} s: {statuses}, {seen}"
        time.sleep(0.2)


def _reachable(application: Application, events: list[ApplicationEvent]) -> bool:
    """Whether the history is a path of the state machine's moves from 草稿 to the status."""
    moves = {(move.event.value, source, move.target) for move in Transition for source in move.sources}
    status = ""
    for event in events:
        if event.action == "created":
            if (status, event.to_status) != ("", Application.Status.DRAFT):
                return False
        elif (
            event.from_status != event.to_status
            or (event.action, event.from_status, event.to_status) in moves
        ):
            if event.from_status != status or (event.action, event.from_status, event.to_status) not in moves:
                return False
        elif event.to_status != status:  # an event that moves nothing keeps the status
            return False
        status = event.to_status
    return status == application.status


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_kill_9_of_every_process_loses_no_acceptance_and_breaks_no_rule(
    reference_data: None,
    personas: Personas,
    household_reviewer: User,
    system_key: SM2KeyPair,
    deployed_queue: dict[str, str],
    standard_photo: bytes,
    tmp_path: Path,
    settings: Any,
) -> None:
    started = time.monotonic()
    centre_key = tmp_path / "centre.json"
    production_services.centre_key_generate(centre=Unit.objects.get(code=CENTRE), out=centre_key)
    sent_file = tmp_path / "notifications.jsonl"
    token, port, engine_port = "crash-test-engine-token", free_port(), free_port()
    env = {
        **deployed_queue,
        "TONGBAN_KEYS_DIR": str(settings.CARD_PRODUCTION["KEYS_DIR"]),
        "TONGBAN_PACKAGE_DIR": str(settings.CARD_PRODUCTION["PACKAGE_DIR"]),
        "TONGBAN_BATCH_SIZE": str(BATCH_SIZE),
        "TONGBAN_VAR_DIR": str(tmp_path),
        "TONGBAN_BIOMETRICS_ENGINE": "service",
        "TONGBAN_ABIS_NODES": f"http://127.0.0.1:{engine_port}",
        "TONGBAN_ABIS_TOKEN": token,
        "TONGBAN_NOTIFICATIONS_BACKEND": "file",
        "TONGBAN_NOTIFICATIONS_FILE": str(sent_file),
        "TONGBAN_NOTIFICATIONS_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    # Adults born on different days: the factory's ID numbers repeat every 499 people of one day.
    born = datetime.date(1960, 1, 1)
    people = [
        PersonFactory.create(birth_date=born + datetime.timedelta(days=n)).id_number
        for n in range(APPLICATIONS)
    ]
    photo = base64.b64encode(standard_photo).decode("ascii")

    counts: Counter[int] = Counter()
    lock = threading.Lock()
    plant = Plant(env, tmp_path, port=port, engine_port=engine_port, token=token)
    base = f"http://127.0.0.1:{port}"
    accepted: dict[str, str] = {}  # 受理号 → ID number, of every 2xx acceptance
    refused: dict[str, str] = {}  # ID number → the refusal's code
    waiting: queue.Queue[tuple[int, str]] = queue.Queue()
    for n, id_number in enumerate(people):
        waiting.put((n, id_number))
    stop = threading.Event()

    def clerk(api: Api) -> None:
        """A counter terminal: the next person, again later when the answer did not come."""
        try:
            while not stop.is_set():
                try:
                    n, id_number = waiting.get_nowait()
                except queue.Empty:
                    return
                status, body = api("POST", "applications", _accept_body(id_number, photo, n))
                if 200 <= status < 300:
                    with lock:
                        accepted[body["number"]] = id_number
                elif status == NO_ANSWER or status >= 500:  # the server or the engine was killed
                    waiting.put((n, id_number))
                    time.sleep(0.2)
                else:
                    refused[id_number] = body["code"] if body else str(status)
        finally:
            connection.close()

    def api(user: User) -> Api:
        return Api(base, api_token_issue(user=user), counts, lock)

    office = Office(
        api(household_reviewer), api(personas.centre_operator), api(personas.nanchang_distributor)
    )

    def staff(stage: Callable[[], None]) -> None:
        try:
            while not stop.is_set():
                stage()
                time.sleep(0.3)
        finally:
            connection.close()

    def cron() -> None:
        """The every-minute sweep of the outbox, every second here, when the queue is empty:
        it sends again what a killed worker held once its lease is over."""
        try:
            while not stop.wait(1.0):
                if HUEY.pending_count() == 0:
                    tasks.deliver_due()
        finally:
            connection.close()

    rng = random.Random()
    kinds = ["web", "worker", "engine"] * (KILLS // 3 + 1)
    rng.shuffle(kinds)
    try:
        plant.wait_ready()
        with ThreadPoolExecutor(CLERKS + REVIEWERS + 4) as pool:
            counter = api(personas.nanchang_clerk)  # one token, the terminals' connections many
            clerks = [pool.submit(clerk, counter) for _ in range(CLERKS)]
            reviewers = [functools.partial(office.review, part) for part in range(REVIEWERS)]
            stages = [*reviewers, office.produce, office.ship, office.hand_over]
            others = [pool.submit(staff, stage) for stage in stages] + [pool.submit(cron)]
            try:
                for kind in kinds[:KILLS]:
                    time.sleep(rng.uniform(0.5, 3.0))
                    plant.kill_one(kind, rng)
                    plant.wait_ready()
                for future in clerks:
                    future.result(timeout=DEADLINE)
                office.counter_closed.set()
                _until(
                    lambda: not Application.objects.exclude(status=Application.Status.HANDED_OVER).exists(),
                    "end of every application",
                    plant,
                    others,
                    (counts, Counter(refused.values())),
                )
                _until(
                    lambda: not Message.objects.exclude(status=Message.Status.SENT).exists(),
                    "empty outbox",
                    plant,
                    others,
                    Counter(Message.objects.values_list("status", flat=True)),
                )
            finally:
                stop.set()
            for future in [*clerks, *others]:
                future.result()
    finally:
        plant.stop()

    checks = Counter[str]()
    applications = list(Application.objects.order_by("pk"))
    batches = list(Batch.objects.order_by("pk"))
    # What the run did, printed before the checks, so that a failing check still reports it.
    statuses = Counter(a.status for a in applications)
    answers = ", ".join(f"{status or 'no answer'}: {n}" for status, n in sorted(counts.items()))
    print(
        f"\n{len(applications)} applications, {CLERKS} clerks; {sum(counts.values())} requests ({answers}); "
        f"{sum(plant.kills.values())} kills ({dict(plant.kills)}); final statuses {dict(statuses)}; "
        f"{len(batches)} batches; {time.monotonic() - started:.0f} s",
        flush=True,
    )
    # Every 2xx acceptance is there and complete; a refusal only for one that went through.
    stored = {a.number: a for a in applications}
    for number, id_number in accepted.items():
        application = stored[number]
        assert application.id_number == id_number and application.accepted_at is not None, number
        assert application.photo and application.fee_item, number
        assert BiometricTemplate.objects.filter(ref_id=application_ref(application)).exists(), number
        assert Payment.objects.filter(application_number=number).exists(), number
    checks["acceptances answered 2xx, stored and complete"] = len(accepted)
    mine = {a.id_number for a in applications}
    assert set(refused) <= mine and set(people) == mine, refused
    assert len(applications) == len(people)  # one application a person, lost answers included
    checks["refusals of a person already accepted"] = len(refused)
    # Every history a path of the state machine.
    events: dict[int, list[ApplicationEvent]] = {}
    for event in ApplicationEvent.objects.order_by("at", "pk"):
        events.setdefault(event.application_id, []).append(event)
    unreachable = [a.number for a in applications if not _reachable(a, events.get(a.pk, []))]
    assert unreachable == []
    checks["histories along the state machine"] = len(applications)
    # 受理号: one a person, none twice.
    numbers = Counter(a.number for a in applications)
    assert all(number for number in numbers) and max(numbers.values()) == 1
    checks["受理号 without a duplicate"] = len(numbers)
    # Every batch's package opens and verifies with the centre's key.
    for batch in batches:
        out = tmp_path / "opened" / batch.number
        stdout = io.StringIO()
        path = Path(settings.CARD_PRODUCTION["PACKAGE_DIR"]) / batch.package_file
        call_command("package", "open", str(path), "--key", str(centre_key), "--out", str(out), stdout=stdout)
        opened = json.loads(stdout.getvalue())
        assert opened["verified"] is True and opened["cards"] == batch.items.count(), batch.number
    checks["packages opened and verified"] = len(batches)
    # The audit log: sealed, then verified.
    for action in ("seal", "verify"):  # as the operator runs them (the audit app is out of this test)
        command = Command(["audit", action], env, tmp_path / "audit.log")
        assert command.process.wait(timeout=START) == 0, command.output()
    result = verify()
    assert result.broken is None
    checks["audit rows verified"] = result.checked
    # Every message sent with its key; twice only when a killed worker held it.
    sent = Counter(json.loads(line)["key"] for line in sent_file.read_text().splitlines())
    assert set(sent) == set(Message.objects.values_list("key", flat=True))
    twice = sum(n - 1 for n in sent.values())
    assert twice <= plant.kills["worker"] * THREADS
    checks["notifications sent once by key"] = len(sent)

    print(
        f"{twice} notifications delivered twice by a killed worker; checks passed: {dict(checks)}; "
        f"{time.monotonic() - started:.0f} s in all"
    )
