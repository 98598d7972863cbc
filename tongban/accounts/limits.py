"""Limits on the public doors (办理进度查询, 预约, 电子证照核验, 居民身份证核查): how often one key — a
client address, a 受理号, an institution — may knock within a window, counted in the database so
that every web process and every machine sees the same count (as LoginFailure does for sign-ins).

A limit counts hits in buckets of a sixth of its window, one row per key and bucket, so the window
slides in steps and a key never has more than seven rows. `take` records the hit and reads the
sum in one transaction: the increment locks the key's bucket row until the sum is read, so however
many requests race, exactly `limit.count` of them see a sum within the limit. Refused hits count
too: a key that keeps knocking stays shut out. Keys are stored as keyed hashes (HMAC under the
secret key), never plain: a 受理号 or an address is not kept here in the clear."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.crypto import salted_hmac

from tongban.accounts.models import RateCount

BUCKETS = 6  # a window slides in sixths


@dataclass(frozen=True)
class Limit:
    """At most `count` hits of one key within `window`, on the door named `scope`."""

    scope: str
    count: int
    window: datetime.timedelta

    @property
    def bucket(self) -> datetime.timedelta:
        return self.window / BUCKETS


def _digest(limit: Limit, key: str) -> str:
    return salted_hmac("tongban.accounts.limits." + limit.scope, key, algorithm="sha256").hexdigest()


def _bucket_start(limit: Limit, now: datetime.datetime) -> datetime.datetime:
    size = limit.bucket.total_seconds()
    seconds = now.timestamp()
    return datetime.datetime.fromtimestamp(seconds - seconds % size, tz=datetime.UTC)


def _counted(limit: Limit, digest: str, now: datetime.datetime) -> tuple[int, datetime.datetime | None]:
    """Hits within the window, and the start of the oldest bucket holding any."""
    since = _bucket_start(limit, now) - limit.bucket * (BUCKETS - 1)
    rows = RateCount.objects.filter(scope=limit.scope, key=digest, window_start__gte=since)
    total = rows.aggregate(n=Sum("count"))["n"] or 0
    oldest = rows.order_by("window_start").values_list("window_start", flat=True).first()
    return total, oldest


def blocked_until(
    limit: Limit, key: str, *, now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """When `key` may knock again, or None if it may now. Reads only."""
    now = now or timezone.now()
    total, oldest = _counted(limit, _digest(limit, key), now)
    if total < limit.count or oldest is None:
        return None
    return oldest + limit.window


def hit(limit: Limit, key: str, *, now: datetime.datetime | None = None) -> None:
    """Count one knock of `key` (a failure, where only failures count)."""
    now = now or timezone.now()
    digest, start = _digest(limit, key), _bucket_start(limit, now)
    rows = RateCount.objects.filter(scope=limit.scope, key=digest, window_start=start)
    if rows.update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            RateCount.objects.create(scope=limit.scope, key=digest, window_start=start, count=1)
    except IntegrityError:  # another process made the bucket's row first
        rows.update(count=F("count") + 1)
        return
    # A new bucket: buckets of this door that have left every window count for nothing.
    RateCount.objects.filter(scope=limit.scope, window_start__lt=now - limit.window - limit.bucket).delete()


def take(limit: Limit, key: str, *, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """Count one knock of `key` and say whether it was one too many: None when it is within the
    limit, else when `key` may knock again."""
    now = now or timezone.now()
    with transaction.atomic():
        hit(limit, key, now=now)
        total, oldest = _counted(limit, _digest(limit, key), now)
    if total <= limit.count or oldest is None:
        return None
    return oldest + limit.window


class Limited(Exception):
    """A knock one too many: `until` when the caller may knock again, `message` what to tell them
    (the API answers `429 rate_limited`, tongban.api.rate_limited; a page shows the message)."""

    def __init__(self, until: datetime.datetime, message: str | None = None) -> None:
        self.until = until
        self.message = message or wait_message(until)
        super().__init__(self.message)


def knock(limit: Limit, key: str, *, now: datetime.datetime | None = None) -> None:
    """`take`, raising Limited when the knock was one too many."""
    until = take(limit, key, now=now)
    if until is not None:
        raise Limited(until)


def clear(limit: Limit, key: str) -> None:
    """Forget `key`'s knocks (a success that forgives the failures before it)."""
    RateCount.objects.filter(scope=limit.scope, key=_digest(limit, key)).delete()


def wait_message(until: datetime.datetime) -> str:
    return f"请求过于频繁，请于 {timezone.localtime(until):%H:%M} 后再试。"
