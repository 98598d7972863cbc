"""数据清理扫描 as a background job (tongban.jobs.kinds): a thin wrapper around `scan.run_scan`,
which keeps its own checkpoint, so a job that is run again (its worker died) resumes its run."""

from __future__ import annotations

from django.conf import settings

from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.dataquality import scan as scanning
from tongban.dataquality.models import ScanRun
from tongban.jobs.services import JobCancelled, JobContext
from tongban.registry.models import Unit

STAGE_LABELS = {
    "duplicates": "重号",
    "numbers": "错号",
    "names": "疑似一人多户",
    "faces": "人像比对",
    "households": "户口核对",
    "done": "完成",
}


def scan(context: JobContext) -> None:
    params = context.params
    job = context.job
    if job.object_id:
        run = ScanRun.objects.get(pk=int(job.object_id))
    else:
        unit = Unit.objects.get(code=params["unit"])
        run = scanning.run_start(unit=unit, kinds=params["kinds"], started_by=job.started_by)
        context.made(object_type="dataquality.scanrun", object_id=run.pk)
        context.log(f"扫描 #{run.pk}：{unit.name}，应扫描 {run.total_rows} 人")

    def report(_rows: int) -> None:
        context.progress(run.processed_rows, run.total_rows, stage=STAGE_LABELS.get(run.stage, run.stage))

    try:
        report(0)
        scanning.run_scan(run, progress=report, workers=settings.DATAQUALITY_SCAN_WORKERS)
    except JobCancelled:
        ScanRun.objects.filter(pk=run.pk).update(status=ScanRun.Status.STOPPED, error="")
        raise
    found = "；".join(f"{label} {n}" for label, n in run.found_labels) or "未发现问题"
    context.finish(f"扫描 #{run.pk} 完成（{run.processed_rows} 人）：{found}")
    if job.started_by is not None:
        record(
            actor=job.started_by,
            action=AuditAction.DATAQUALITY_SCAN,
            object_type="dataquality.scanrun",
            object_id=run.pk,
            detail={
                "unit": params["unit"],
                "kinds": params["kinds"],
                "rows": run.processed_rows,
                "found": run.found,
            },
        )
