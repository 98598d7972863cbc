"""The sealer: chains committed audit rows and signs each batch (审计封存).

Writers insert rows with `seq` empty. `seal_pending` takes the rows not sealed yet in id order
(a row that committed late, below ids already sealed, is simply among them next time), gives
each the next `seq`, the previous row's hash and its own hash (`chain.link_hash`, SM3), and
closes the batch with an `AuditSeal`: the range, the chain's last hash and the system's SM2
signature over them (`checkpoint_payload`). All of it in one transaction, so a batch is sealed
whole or not at all.

One sealer runs at a time (`tongban audit seal --follow`); a second one racing it fails on the
unique seal number or `seq` and rolls back, never writing a fork. Callers of `record` never
touch anything the sealer locks.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from tongban.audit.chain import GENESIS_HASH, HASHED_FIELDS, link_hash
from tongban.audit.models import AuditEvent, AuditSeal
from tongban.core.crypto import SM2KeyPair, sm2_sign
from tongban.core.keys import SystemKeyInvalid, SystemKeyMissing, load_system_key

logger = logging.getLogger(__name__)

BATCH_MAX = 10_000
UPDATE_CHUNK = 1_000
KEY_RETRY_SECONDS = 10.0
CONTENT_FIELDS = tuple(name for name in HASHED_FIELDS if name not in {"seq", "prev_hash"})


class SealingRefused(RuntimeError):
    """Rows sealed before seals existed do not form a valid chain: a person must look first."""


def checkpoint_payload(seal: AuditSeal) -> bytes:
    """What the signature covers: the batch's place in the chain and the chain's hash there."""
    body = {
        "number": seal.number,
        "first_seq": seal.first_seq,
        "last_seq": seal.last_seq,
        "last_hash": seal.last_hash,
        "sealed_at": seal.sealed_at.isoformat(timespec="microseconds"),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _sign(seal: AuditSeal, key: SM2KeyPair) -> None:
    seal.key_fingerprint = key.fingerprint
    seal.signature = sm2_sign(key, checkpoint_payload(seal)).hex()


@dataclass(frozen=True)
class Head:
    number: int
    seq: int
    hash: str


def _head() -> Head:
    last = AuditSeal.objects.order_by("-number").first()
    if last is None:
        return Head(0, 0, GENESIS_HASH)
    return Head(last.number, last.last_seq, last.last_hash)


def _adopt_legacy_chain(key: SM2KeyPair) -> AuditSeal | None:
    """Rows chained one by one before seals existed (under the old chain-head lock) carry their
    `seq` and hashes already: the first seal covers them once their chain checks out."""
    rows = AuditEvent.objects.exclude(seq=None).order_by("seq").values(*HASHED_FIELDS, "hash").iterator(5000)
    prev, seq = GENESIS_HASH, 0
    for row in rows:
        seq += 1
        if row["seq"] != seq or row["prev_hash"] != prev or link_hash(row) != row["hash"]:
            raise SealingRefused(f"rows sealed before seals existed break the chain at #{seq}")
        prev = row["hash"]
    if seq == 0:
        return None
    seal = AuditSeal(number=1, first_seq=1, last_seq=seq, last_hash=prev, sealed_at=timezone.now())
    _sign(seal, key)
    seal.save(force_insert=True)
    return seal


def _assign(rows: list[tuple[int, int, str, str]]) -> int:
    """Write (id, seq, prev_hash, hash) onto rows still unsealed; how many were written."""
    if connection.vendor == "postgresql":
        row_sql, columns = "(%s::bigint, %s::bigint, %s, %s)", "v(id, seq, prev_hash, hash)"
        names = ("v.id", "v.seq", "v.prev_hash", "v.hash")
    else:  # SQLite names a VALUES list's columns column1, column2, …
        row_sql, columns = "(%s, %s, %s, %s)", "v"
        names = ("v.column1", "v.column2", "v.column3", "v.column4")
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPDATE_CHUNK):
            chunk = rows[start : start + UPDATE_CHUNK]
            cursor.execute(
                f"UPDATE audit_auditevent SET seq = {names[1]}, prev_hash = {names[2]}, hash = {names[3]} "  # noqa: S608 - fixed column names; values are parameters
                f"FROM (VALUES {','.join([row_sql] * len(chunk))}) AS {columns} "
                f"WHERE audit_auditevent.id = {names[0]} AND audit_auditevent.seq IS NULL",
                [value for row in chunk for value in row],
            )
            written += cursor.rowcount
    return written


def seal_pending(*, key: SM2KeyPair | None = None, limit: int = BATCH_MAX) -> AuditSeal | None:
    """Seal up to `limit` committed rows not sealed yet; the new seal, or None when there was
    nothing to seal (or another sealer got there first)."""
    key = key or load_system_key()
    try:
        with transaction.atomic():
            if not AuditSeal.objects.exists():
                adopted = _adopt_legacy_chain(key)
                if adopted is not None:
                    return adopted
            head = _head()
            pending = list(
                AuditEvent.objects.filter(seq=None).order_by("id").values("id", *CONTENT_FIELDS)[:limit]
            )
            if not pending:
                return None
            assigned: list[tuple[int, int, str, str]] = []
            seq, prev = head.seq, head.hash
            for row in pending:
                seq += 1
                fields: dict[str, Any] = {**row, "seq": seq, "prev_hash": prev}
                digest = link_hash(fields)
                assigned.append((row["id"], seq, prev, digest))
                prev = digest
            if _assign(assigned) != len(assigned):
                raise IntegrityError("rows were sealed by another sealer meanwhile")
            seal = AuditSeal(
                number=head.number + 1,
                first_seq=head.seq + 1,
                last_seq=seq,
                last_hash=prev,
                sealed_at=timezone.now(),
            )
            _sign(seal, key)
            seal.save(force_insert=True)
            return seal
    except IntegrityError:
        logger.info("audit sealing skipped: another sealer sealed these rows")
        return None


def seal_all(*, key: SM2KeyPair | None = None, limit: int = BATCH_MAX) -> int:
    """Seal until nothing is left; how many rows were sealed."""
    key = key or load_system_key()
    sealed = 0
    while (seal := seal_pending(key=key, limit=limit)) is not None:
        sealed += seal.last_seq - seal.first_seq + 1
    return sealed


def follow(
    *, interval: float = 0.5, limit: int = BATCH_MAX, stop: Callable[[], bool] = lambda: False
) -> None:
    """Seal continuously until `stop()`: one batch of what is waiting, then a pause of `interval`
    seconds unless the batch was full (a backlog is sealed without pausing). One batch a round
    keeps seals, and their signatures, few while rows trickle in. A missing key or an
    unreachable database is logged and tried again: the sealer outlives both, and the rows wait
    (the administrators' home page says so when they wait too long)."""
    key: SM2KeyPair | None = None
    while not stop():
        sealed = 0
        try:
            key = key or load_system_key()
            seal = seal_pending(key=key, limit=limit)
            sealed = seal.last_seq - seal.first_seq + 1 if seal is not None else 0
        except (SystemKeyMissing, SystemKeyInvalid) as exc:
            logger.error(
                "audit sealing waits for the system key (keys generate-system, or its passphrase): %s",
                exc,
            )
            time.sleep(max(interval, KEY_RETRY_SECONDS))
        except DatabaseError:
            logger.exception("audit sealing failed; retrying")
            connection.close()
        if sealed:
            logger.debug("audit rows sealed: %d", sealed)
        if sealed < limit:
            time.sleep(interval)
