"""居民身份证核查 reads: the institutions as the provincial department sees them (one scope,
`visible_to`), an institution by its key (the check's authentication, read afresh on every
request so that a suspension or a new key holds at once), and the monthly counts by answer."""

from __future__ import annotations

import datetime
import hmac
from dataclasses import dataclass, field

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import salted_hmac

from tongban.cardcheck import rules
from tongban.cardcheck.models import Institution, MonthlyCount
from tongban.cardcheck.rules import Outcome
from tongban.registry.access import Viewer
from tongban.registry.models import Unit

_KEY_SALT = "tongban.cardcheck.key"


def key_hash(key: str) -> str:
    """A keyed hash (HMAC-SHA256 under the secret key) of an institution's key: 192 random bits
    need no slow hash, and the check runs on every request."""
    return salted_hmac(_KEY_SALT, key, algorithm="sha256").hexdigest()


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def this_month() -> datetime.date:
    return month_of(timezone.localdate())


def institutions(viewer: Viewer) -> QuerySet[Institution]:
    """The institutions, each with `month_total`: its checks of this month."""
    month_total = (
        MonthlyCount.objects.filter(institution=OuterRef("pk"), month=this_month())
        .values("institution")
        .annotate(n=Sum("count"))
        .values("n")
    )
    return Institution.objects.visible_to(viewer).annotate(
        month_total=Coalesce(Subquery(month_total, output_field=IntegerField()), Value(0))
    )


def institution_for(viewer: Viewer, pk: int, action: str | None = None) -> Institution:
    """One institution, 404 for anyone outside the provincial department or without `action`."""
    found = Institution.objects.visible_to(viewer, action).select_related("created_by").filter(pk=pk).first()
    if found is None:
        raise Http404("未找到该核查机构")
    return found


def institution_by_key(key: str) -> Institution | None:
    """The institution whose key this is, whatever its state (the caller refuses a suspended
    one), or None. Never cached: a new key or a suspension holds from the next request."""
    prefix = rules.key_prefix(key)
    if prefix is None:
        return None
    found = Institution.objects.filter(key_prefix=prefix).first()
    if found is None or not found.key_hash or not hmac.compare_digest(found.key_hash, key_hash(key)):
        return None
    return found


@dataclass
class MonthCounts:
    """One month's checks by answer (按月统计)."""

    month: datetime.date
    by_outcome: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())

    def cells(self) -> list[int]:
        """The counts in the order of `Outcome` (the table's columns)."""
        return [self.by_outcome[o.value] for o in Outcome]


def monthly_counts(institution: Institution, *, months: int = 12) -> list[MonthCounts]:
    """The institution's last `months` months, newest first, months without checks included."""
    month = this_month()
    wanted: list[datetime.date] = []
    for _ in range(months):
        wanted.append(month)
        month = month_of(month - datetime.timedelta(days=1))
    rows = {m: MonthCounts(m) for m in wanted}
    for row in MonthlyCount.objects.filter(institution=institution, month__gte=wanted[-1]).values_list(
        "month", "outcome", "count"
    ):
        if row[0] in rows:
            rows[row[0]].by_outcome[row[1]] = row[2]
    return [rows[m] for m in wanted]


@dataclass
class InstitutionMonth:
    """An institution's checks of one month, for the dashboard."""

    institution_id: int
    name: str
    kind: str
    counts: MonthCounts


def month_by_institution(viewer: Viewer, month: datetime.date | None = None) -> list[InstitutionMonth]:
    """Every institution with checks in `month` (this month by default), busiest first: one query
    over the counts (督导 dashboard); none for a viewer outside the provincial department."""
    return _by_institution(MonthlyCount.objects.visible_to(viewer), month or this_month())


def dashboard_counts(viewer: Viewer, unit: Unit) -> list[InstitutionMonth] | None:
    """The relying parties are the province's: their checks of this month, per institution, on
    the provincial department's own dashboard (督导) only, one query; None elsewhere."""
    if unit.kind != Unit.Kind.PROVINCE or not viewer.can("cardcheck.view"):
        return None
    return month_by_institution(viewer)


def month_counts_all(month: datetime.date) -> list[InstitutionMonth]:
    """`month_by_institution` for the operator's command line, who sees every institution."""
    return _by_institution(MonthlyCount.objects.all(), month)


def _by_institution(counts: QuerySet[MonthlyCount], month: datetime.date) -> list[InstitutionMonth]:
    found: dict[int, InstitutionMonth] = {}
    rows = counts.filter(month=month).values_list(
        "institution_id", "institution__name", "institution__kind", "outcome", "count"
    )
    kinds = dict(Institution.Kind.choices)
    for pk, name, kind, outcome, count in rows:
        entry = found.setdefault(pk, InstitutionMonth(pk, name, kinds.get(kind, kind), MonthCounts(month)))
        entry.counts.by_outcome[outcome] = count
    return sorted(found.values(), key=lambda e: (-e.counts.total, e.name))


OUTCOME_HEADINGS = [o.label for o in Outcome]
