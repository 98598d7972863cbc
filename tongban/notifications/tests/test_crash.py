"""kill -9 of workers in the middle of deliveries. Clients queue messages through `notify`, each in
its own transactions (some rolled back), while several `tongban run_huey` processes send them to an
SMS platform's webhook — a slow one, so that kills land in the middle of a delivery — and are
killed at random moments and started again. Once the outbox is empty: every committed message was
sent and reached the platform, none of a rolled-back transaction did, nothing failed, and a message
reached the platform twice only when the worker holding it died between sending and recording it
(with the same idempotency key, so that the platform sends the citizen one SMS).

The long form: `TONGBAN_TEST_CRASH_SCALE=10` (ten times the messages and the kills)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from huey.contrib.djhuey import HUEY

from tongban.notifications import tasks
from tongban.notifications.models import Message
from tongban.notifications.services import Notification, notify
from tongban.testing.processes import Worker

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]

SCALE = int(os.environ.get("TONGBAN_TEST_CRASH_SCALE", "1"))
CLIENTS = 8
MESSAGES = 25 * SCALE  # each client's at least (it goes on until the kills are over)
ROLLED_BACK = 8  # one message in eight is queued by a transaction that rolls back
KILLS = 3 * SCALE
WORKERS, THREADS = 3, 2
PAUSE = 0.1  # the platform's time for a request: most of a delivery, so that kills land in one
SECRET = "crash-test-secret"
# A short lease, so that a dead worker's messages go again within seconds; still well above the
# webhook's timeout and a delivery's time, so that a live worker's message is never taken from it.
LEASE_SECONDS, WEBHOOK_TIMEOUT = 6, 3
DEADLINE = 120.0  # seconds for any one thing the test waits for (workers start slowly on a busy machine)


class Platform(ThreadingHTTPServer):
    """The SMS platform's webhook: counts the requests for each idempotency key whose signature
    is right, and refuses (and notes) any other."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PlatformRequest)
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.refused: list[str] = []


class _PlatformRequest(BaseHTTPRequestHandler):
    server: Platform

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        key = self.headers.get("Idempotency-Key", "")
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(self.headers.get("X-Tongban-Signature", ""), signature)
        good = good and json.loads(body)["key"] == key
        with self.server.lock:  # taken as received (to be sent) before answering, as a platform does
            if good:
                self.server.received[key] += 1
            else:
                self.server.refused.append(key)
        time.sleep(PAUSE)
        try:
            self.send_response(200 if good else 401)
            self.end_headers()
        except OSError:  # the worker was killed while it waited for the answer
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _RolledBack(Exception):
    """Raised by a client inside its transaction: the action fails and is rolled back."""


def _until(condition: Callable[[], bool], what: str, workers: list[Worker]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        for worker in workers:
            assert worker.process.poll() is None, f"a worker died by itself:\n{worker.output()}"
        assert time.monotonic() < deadline, f"no {what} after {DEADLINE} s: " + str(
            Counter(Message.objects.values_list("status", flat=True))
        )
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_workers_killed_mid_delivery_send_every_committed_message_once_to_the_platform(
    deployed_queue: dict[str, str], tmp_path: Path
) -> None:
    started = time.monotonic()
    platform = Platform()
    threading.Thread(target=platform.serve_forever, daemon=True).start()
    env = {
        **deployed_queue,
        "TONGBAN_NOTIFICATIONS_BACKEND": "webhook",
        "TONGBAN_NOTIFICATIONS_WEBHOOK_URL": f"http://127.0.0.1:{platform.server_port}/sms",
        "TONGBAN_NOTIFICATIONS_WEBHOOK_SECRET": SECRET,
        "TONGBAN_NOTIFICATIONS_WEBHOOK_TIMEOUT": str(WEBHOOK_TIMEOUT),
        "TONGBAN_NOTIFICATIONS_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    workers = [Worker(env, tmp_path / f"worker-{n}.log", threads=THREADS) for n in range(WORKERS)]
    committed: list[str] = []
    rolled_back: list[str] = []
    kills_over, stop = threading.Event(), threading.Event()

    def client(number: int) -> None:
        """A clerk's terminal: one action a transaction, until it has done its share and the
        kills are over (so that deliveries are in flight at every kill)."""
        try:
            done = 0
            while not stop.is_set() and (done < MESSAGES or not kills_over.is_set()):
                text = f"请领证（{number} 号终端第 {done} 条）"
                try:
                    with transaction.atomic():
                        message = notify(Notification("card.ready", text, phone="13800138000"))
                        if (number + done) % ROLLED_BACK == 0:
                            raise _RolledBack
                except _RolledBack:
                    rolled_back.append(message.key)
                else:
                    committed.append(message.key)
                done += 1
                time.sleep(random.uniform(0.2, 0.8))
        finally:
            connection.close()

    def cron() -> None:
        """The every-minute sweep (messages_deliver_due), every second here, queued as the
        workers' schedule queues it, when their queue has nothing else: it sends what the queue
        lost with a killed worker's task, and a killed worker's messages once their lease is over."""
        try:
            while not stop.wait(1.0):
                if HUEY.pending_count() == 0:
                    tasks.deliver_due()
        finally:
            connection.close()

    kills = 0
    held: set[str] = set()  # messages being sent when a worker was killed
    rng = random.Random()
    try:
        _until(lambda: all(worker.ready() for worker in workers), "workers started", workers)
        with ThreadPoolExecutor(CLIENTS + 1) as pool:
            clients = [pool.submit(client, n) for n in range(CLIENTS)]
            sweeps = pool.submit(cron)
            try:
                while kills < KILLS:
                    time.sleep(rng.uniform(0.2, 1.0))
                    # Never the last worker up, so that deliveries are in flight at each kill.
                    _until(
                        lambda: (
                            sum(worker.ready() for worker in workers) >= 2
                            and Message.objects.filter(status=Message.Status.SENDING).exists()
                        ),
                        "delivery in flight",
                        workers,
                    )
                    time.sleep(rng.uniform(0, PAUSE))
                    n = rng.choice([n for n, worker in enumerate(workers) if worker.ready()])
                    workers[n].kill()
                    kills += 1
                    held.update(
                        Message.objects.filter(status=Message.Status.SENDING).values_list("key", flat=True)
                    )
                    workers[n] = Worker(env, workers[n].log, threads=THREADS)
                kills_over.set()
                for future in clients:
                    future.result(timeout=DEADLINE)
                _until(
                    lambda: not Message.objects.exclude(status=Message.Status.SENT).exists(),
                    "empty outbox",
                    workers,
                )
            finally:
                stop.set()
            for future in [*clients, sweeps]:
                future.result()
    finally:
        for worker in workers:
            worker.kill()
        platform.shutdown()
        platform.server_close()

    logs = "".join(worker.log.read_text() for worker in workers)
    # Every committed message was sent, at once or again after its worker died; nothing failed.
    statuses = dict(Message.objects.values_list("key", "status"))
    assert set(statuses) == set(committed) and set(statuses.values()) == {Message.Status.SENT}
    assert not Message.objects.exclude(last_error="").exists() and "could not be sent" not in logs
    # The platform received every committed message, none of a rolled-back transaction, all signed.
    assert set(platform.received) == set(committed) and platform.refused == []
    assert not set(platform.received) & set(rolled_back)
    # Twice only a message that a killed worker was sending (the platform sends a key once), so at
    # most one for each thread of each worker killed.
    twice = {key: n for key, n in platform.received.items() if n > 1}
    assert set(twice) <= held
    duplicates = sum(n - 1 for n in twice.values())
    assert duplicates <= kills * THREADS
    print(
        f"\n{len(committed)} messages sent, {len(rolled_back)} rolled back, {kills} kills of "
        f"{WORKERS} workers × {THREADS} threads, {len(held)} messages in flight at a kill, "
        f"{duplicates} sent twice ({len(twice)} keys), {time.monotonic() - started:.1f} s"
    )
