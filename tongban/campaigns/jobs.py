"""集中换发工作总结 as a background job (tongban.jobs.kinds `campaigns.summary`): a thin wrapper
around `services.summary_write`, its file left as the job's result.

The summary is of the part of the campaign the starter sees when the job runs: their permission
was checked again before (`job_execute`), and the campaign is looked up again as theirs (one no
longer covering their unit fails the job with 404 `not_found`). It keeps no checkpoint: a job run
again (a dead worker's, or 重试) starts over and writes the whole file anew."""

from __future__ import annotations

from django.utils import timezone

from tongban.campaigns import services
from tongban.core.errors import ServiceError
from tongban.jobs.services import JobContext


def summary(context: JobContext) -> None:
    starter = context.job.started_by
    if starter is None:
        raise ServiceError("permission_denied", "工作总结须由本人提交。", status=403)
    fmt = context.params["format"]
    campaign, scope = services.summary_scope(starter, context.params["campaign"])
    today = timezone.localdate()
    name = services.summary_name(campaign, fmt, today)
    context.progress(0, 1, stage="生成总结")
    target = context.result_path(name)
    services.summary_write(campaign=campaign, scope=scope, fmt=fmt, target=target, today=today)
    context.progress(1, 1)
    context.finish(f"{name}（{scope.name}）")
