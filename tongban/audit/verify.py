"""Checking the audit trail (审计校验): every seal's signature, every row's place in the chain.

`verify` walks the seals in order (numbered without gaps, each starting where the previous one
ended, each signed by the system's key) and the rows in `seq` order (gapless, each linked to the
previous row's hash, each row's content matching its own hash), and checks that the chain's hash
at the end of each seal is the one the seal signed. It names the first problem:

- `content`: a row was edited (its content no longer matches its hash);
- `missing`: a sealed row was deleted;
- `link` / `rewritten`: rows were re-chained after sealing (their hashes recomputed); the first
  row of the seal whose signed hash no longer matches is named;
- `inserted`: a row carries a place in the chain that no seal covers, or claims to have happened
  well before (`settings.AUDIT["LATE_SECONDS"]`) a row ahead of it in the chain, which it would
  have preceded had it been committed then: inserted afterwards. The rows ahead are the measure,
  not the time of the seal before: a backlog that waited for the sealer (stopped for an hour, say)
  is sealed in several batches, and its later batches legitimately happened before the earlier
  seals were made;
- `seal`: a seal is missing, out of order or its signature does not verify;
- `truncated`: rows at the end of the chain were removed.

Rows not sealed yet are counted; those older than `settings.AUDIT["UNSEALED_ALERT_SECONDS"]`
mean the sealer is not running, and make the result not ok. `export_checkpoints` writes the
seals for an outside witness; `verify(witness=…)` checks the database against such a file.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from tongban.audit.chain import GENESIS_HASH, HASHED_FIELDS, link_hash
from tongban.audit.models import AuditEvent, AuditSeal
from tongban.audit.sealer import checkpoint_payload
from tongban.core.crypto import sm2_fingerprint, sm2_verify
from tongban.core.keys import SystemKeyInvalid, SystemKeyMissing, load_system_public

WITNESS_KIND = "tongban.audit-checkpoints/1"

# What the auditors' page and the CLI say, in Chinese, per kind of problem.
MESSAGES = {
    "content": "第 {seq} 条记录的内容与其哈希值不符（已被改动）",
    "missing": "第 {seq} 条记录缺失（已被删除）",
    "link": "第 {seq} 条记录在封存后被改写（其哈希值已被重算）",
    "rewritten": "第 {seq} 条起的封存批次与其签名不符（封存后被改写）",
    "inserted": "第 {seq} 条记录是事后插入的（不在任何签名封存批次内，或发生后很久才封存）",
    "seal": "封存批次 {seal} 缺失、顺序不符或签名无效",
    "truncated": "第 {seq} 条及以后的记录已被删除",
    "witness": "封存批次 {seal} 与外部留存的校验点不符",
    "no_key": "系统签名密钥不可用，无法校验封存批次的签名",
}


@dataclass(frozen=True)
class Break:
    kind: str
    seq: int | None = None
    seal: int | None = None

    @property
    def message(self) -> str:
        return MESSAGES[self.kind].format(seq=self.seq, seal=self.seal)


@dataclass
class Result:
    checked: int = 0
    seals: int = 0
    broken: Break | None = None
    unsealed: int = 0
    unsealed_overdue: int = 0
    oldest_unsealed_at: datetime.datetime | None = None
    witnessed: int = 0

    @property
    def ok(self) -> bool:
        return self.broken is None and self.unsealed_overdue == 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "checked": self.checked,
            "seals": self.seals,
            "unsealed": self.unsealed,
            "unsealed_overdue": self.unsealed_overdue,
        }
        if self.oldest_unsealed_at is not None:
            out["oldest_unsealed_at"] = self.oldest_unsealed_at.isoformat()
        if self.witnessed:
            out["witnessed"] = self.witnessed
        if self.broken is not None:
            out["broken"] = {"kind": self.broken.kind, "seq": self.broken.seq, "seal": self.broken.seal}
            out["message"] = self.broken.message
        return out


def _config(name: str) -> float:
    return float(settings.AUDIT[name])


def unsealed_overdue() -> int:
    """How many rows wait for the sealer longer than allowed. Cheap: the unsealed rows have their
    own small index."""
    limit = timezone.now() - datetime.timedelta(seconds=_config("UNSEALED_ALERT_SECONDS"))
    return AuditEvent.objects.filter(seq=None, at__lt=limit).count()


def _rows(batch_size: int, end: int) -> Iterator[dict[str, Any]]:
    """The rows up to `end` in chain order."""
    last = 0
    while True:
        rows = list(
            AuditEvent.objects.filter(seq__gt=last, seq__lte=end)
            .order_by("seq")
            .values(*HASHED_FIELDS, "hash")[:batch_size]
        )
        if not rows:
            return
        yield from rows
        last = rows[-1]["seq"]


def _public_keys() -> dict[str, str]:
    try:
        public = load_system_public()  # the public half alone: verifying needs no passphrase
    except (SystemKeyMissing, SystemKeyInvalid):
        return {}
    return {sm2_fingerprint(public): public}


def verify(*, batch_size: int = 5000, witness: dict[str, Any] | None = None) -> Result:
    result = Result()
    keys = _public_keys()
    if witness is not None:
        keys.setdefault(sm2_fingerprint(witness["public_key"]), witness["public_key"])
    seals = list(AuditSeal.objects.order_by("number"))
    result.seals = len(seals)
    result.broken = _check_seals(seals, keys) or _check_rows(seals, result, batch_size)
    if result.broken is None and witness is not None:
        result.broken = _check_witness(seals, witness, result)
    waiting = AuditEvent.objects.filter(seq=None).aggregate(count=Count("id"), oldest=Min("at"))
    result.unsealed, result.oldest_unsealed_at = waiting["count"], waiting["oldest"]
    result.unsealed_overdue = unsealed_overdue()
    return result


def _check_seals(seals: list[AuditSeal], keys: dict[str, str]) -> Break | None:
    if seals and not keys:
        return Break("no_key")
    end = 0
    for number, seal in enumerate(seals, start=1):
        public = keys.get(seal.key_fingerprint)
        valid = public is not None and _signature_valid(public, seal)
        if seal.number != number or seal.first_seq != end + 1 or seal.last_seq < seal.first_seq or not valid:
            return Break("seal", seq=end + 1, seal=number)
        end = seal.last_seq
    return None


def _signature_valid(public: str, seal: AuditSeal) -> bool:
    try:
        return sm2_verify(public, bytes.fromhex(seal.signature), checkpoint_payload(seal))
    except ValueError:
        return False


def _check_rows(seals: list[AuditSeal], result: Result, batch_size: int) -> Break | None:
    late = datetime.timedelta(seconds=_config("LATE_SECONDS"))
    seal_ends = iter(seals)
    seal = next(seal_ends, None)
    expected_seq, prev = 1, GENESIS_HASH
    latest: datetime.datetime | None = None  # the latest time a row ahead in the chain claims
    # The sealer goes on while this runs: only the rows of the seals read above are walked.
    for row in _rows(batch_size, seals[-1].last_seq if seals else 0):
        if seal is None:  # the walk ends with the last seal; nothing is read beyond it
            break
        if row["seq"] != expected_seq:
            return Break("missing", seq=expected_seq)
        if link_hash(row) != row["hash"]:
            return Break("content", seq=row["seq"])
        if row["prev_hash"] != prev:
            # This row still names the hash its predecessor had when sealed: the predecessor
            # was rewritten, hash and all.
            return Break("link", seq=max(row["seq"] - 1, 1))
        if latest is not None and row["at"] < latest - late:
            return Break("inserted", seq=row["seq"])
        latest = row["at"] if latest is None else max(latest, row["at"])
        prev = row["hash"]
        result.checked += 1
        if row["seq"] == seal.last_seq:
            if prev != seal.last_hash:
                return Break("rewritten", seq=seal.first_seq, seal=seal.number)
            seal = next(seal_ends, None)
        expected_seq += 1
    if seal is not None:
        return Break("truncated", seq=expected_seq)
    # A row with a place in the chain that no seal covers, in one statement: the sealer writes a
    # row's place and its seal in one transaction, so a seal made meanwhile covers its rows.
    sealed_end = Coalesce(Subquery(AuditSeal.objects.order_by("-last_seq").values("last_seq")[:1]), 0)
    stray = (
        AuditEvent.objects.filter(seq__gt=sealed_end).order_by("seq").values_list("seq", flat=True).first()
    )
    if stray is not None:
        return Break("inserted", seq=stray)
    return None


def _check_witness(seals: list[AuditSeal], witness: dict[str, Any], result: Result) -> Break | None:
    by_number = {seal.number: seal for seal in seals}
    for kept in witness.get("checkpoints", []):
        seal = by_number.get(kept["number"])
        if seal is None or (seal.first_seq, seal.last_seq, seal.last_hash, seal.signature) != (
            kept["first_seq"],
            kept["last_seq"],
            kept["last_hash"],
            kept["signature"],
        ):
            return Break("witness", seal=kept["number"])
        result.witnessed += 1
    return None


def export_checkpoints(*, since: int = 0) -> dict[str, Any]:
    """The seals after number `since`, with the public key that verifies them: what an outside
    witness keeps (JSON), so that a later rewrite of the whole trail, re-signed or not, shows."""
    public = load_system_public()
    return {
        "kind": WITNESS_KIND,
        "exported_at": timezone.now().isoformat(),
        "public_key": public,
        "key_fingerprint": sm2_fingerprint(public),
        "checkpoints": [
            {
                "number": seal.number,
                "first_seq": seal.first_seq,
                "last_seq": seal.last_seq,
                "last_hash": seal.last_hash,
                "sealed_at": seal.sealed_at.isoformat(timespec="microseconds"),
                "key_fingerprint": seal.key_fingerprint,
                "signature": seal.signature,
            }
            for seal in AuditSeal.objects.filter(number__gt=since).order_by("number")
        ],
    }
