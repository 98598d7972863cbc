"""What can run as a background job: one entry per kind, naming the service that does the work.
A kind's `run` is a thin wrapper around a domain service (STYLE.md habit 10); it reports through
the `JobContext` it is given and must be resumable: a job whose worker died is run again from the
start of `run`, so the service picks up where it stopped (a checkpoint), does nothing twice, or —
when all it leaves is its result file (an export) — simply starts over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from tongban.jobs.services import JobContext


@dataclass(frozen=True)
class JobKind:
    code: str
    label: str
    permission: str  # the action the starter needs: checked at start, at retry, when it runs, and
    # of whoever downloads its result
    runner: str  # dotted path of `def run(context: JobContext) -> None`

    def run(self, context: JobContext) -> None:
        function: Callable[[JobContext], Any] = import_string(self.runner)
        function(context)


KINDS: dict[str, JobKind] = {
    kind.code: kind
    for kind in (
        JobKind(
            "dataquality.scan",
            "数据清理扫描",
            "dataquality.decide",
            "tongban.dataquality.jobs.scan",
        ),
        JobKind("finance.export.payments", "导出收费明细", "finance.view", "tongban.finance.jobs.export"),
        JobKind("finance.export.remittances", "导出缴库记录", "finance.view", "tongban.finance.jobs.export"),
        JobKind(
            "finance.export.settlement", "导出免费首证结算", "finance.view", "tongban.finance.jobs.export"
        ),
        JobKind(
            "finance.export.settlement_lines",
            "导出免费首证结算明细",
            "finance.view",
            "tongban.finance.jobs.export",
        ),
        JobKind("campaigns.summary", "集中换发工作总结", "campaign.view", "tongban.campaigns.jobs.summary"),
    )
}


def may_use_jobs(can: Callable[[str], bool]) -> bool:
    """Whether a role has anything to do with jobs: it may start a kind of job, or oversees the
    jobs of its subtree (job.oversee). Others get no 后台任务 page and 403 from its API."""
    return can("job.oversee") or any(can(kind.permission) for kind in KINDS.values())


def kind_label(code: str) -> str:
    kind = KINDS.get(code)
    return kind.label if kind is not None else "未知任务"
