from __future__ import annotations

import datetime
import threading

import pytest
from django.conf import settings
from django.db import connection

from tongban.accounts import limits
from tongban.accounts.models import RateCount

LIMIT = limits.Limit(scope="test", count=3, window=datetime.timedelta(minutes=6))
NOW = datetime.datetime(2026, 12, 7, 10, 0, tzinfo=datetime.UTC)


@pytest.mark.django_db
def test_a_key_is_refused_after_its_count_until_its_knocks_leave_the_window() -> None:
    assert [limits.take(LIMIT, "1.2.3.4", now=NOW) for _ in range(3)] == [None, None, None]
    until = limits.take(LIMIT, "1.2.3.4", now=NOW + datetime.timedelta(seconds=30))
    assert until == NOW + LIMIT.window
    assert limits.blocked_until(LIMIT, "1.2.3.4", now=NOW + datetime.timedelta(minutes=5)) == until
    assert limits.take(LIMIT, "5.6.7.8", now=NOW) is None  # another key has its own count
    later = NOW + LIMIT.window + LIMIT.bucket
    assert limits.blocked_until(LIMIT, "1.2.3.4", now=later) is None
    assert limits.take(LIMIT, "1.2.3.4", now=later) is None


@pytest.mark.django_db
def test_failures_counted_by_hit_and_forgiven_by_clear() -> None:
    for _ in range(3):
        limits.hit(LIMIT, "2026120736010200100001", now=NOW)
    assert limits.blocked_until(LIMIT, "2026120736010200100001", now=NOW) == NOW + LIMIT.window
    limits.clear(LIMIT, "2026120736010200100001")
    assert limits.blocked_until(LIMIT, "2026120736010200100001", now=NOW) is None


@pytest.mark.django_db
def test_keys_are_kept_as_keyed_hashes_and_old_buckets_are_dropped() -> None:
    limits.hit(LIMIT, "1.2.3.4", now=NOW)
    assert not RateCount.objects.filter(key__contains="1.2.3.4").exists()
    limits.hit(LIMIT, "5.6.7.8", now=NOW + 2 * LIMIT.window)  # a new bucket clears the door's old ones
    assert RateCount.objects.count() == 1


def test_the_wait_is_told_in_chinese_local_time() -> None:
    until = datetime.datetime(2026, 12, 7, 10, 5, tzinfo=datetime.UTC)
    assert limits.wait_message(until) == "请求过于频繁，请于 18:05 后再试。"


AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_racing_knocks_let_exactly_the_count_through() -> None:
    start = threading.Barrier(8)
    outcomes: list[object] = []

    def knock() -> None:
        try:
            start.wait()
            outcomes.append(limits.take(LIMIT, "9.9.9.9") is None)
        except BaseException as exc:  # anything else fails the test below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=knock) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes)) == ["False"] * 5 + ["True"] * 3
