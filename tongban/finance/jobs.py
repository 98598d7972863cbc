"""财政 exports as background jobs (tongban.jobs.kinds `finance.export.*`): a thin wrapper around
`exports.export_of`, writing the workbook as the job's result, a chunk of rows at a time.

The list is built for the job's starter, as their page would show it when the job runs: their
permission was checked again before (`job_execute`) and their subtree is checked again here (a
unit no longer theirs fails the job with 404 `not_found`). An export keeps no checkpoint: a job
run again (a dead worker's, or 重试) starts over and writes the whole file anew."""

from __future__ import annotations

from tongban.core.errors import ServiceError
from tongban.finance import exports
from tongban.jobs.services import JobContext
from tongban.registry.xlsx import write_workbook

# Rows between two progress reports (each is where a cancellation stops the export).
CHUNK = 1000


def export(context: JobContext) -> None:
    starter = context.job.started_by
    if starter is None:
        raise ServiceError("permission_denied", "导出须由本人提交。", status=403)
    prepared = exports.export_of(starter, context.job.kind.removeprefix(exports.KIND_PREFIX), context.params)
    total = prepared.rows
    context.progress(0, total, stage="导出")

    # The count was taken a moment ago; rows charged since may add a few: the bar stops at full.
    def report(done: int) -> None:
        context.progress(min(done, total), total)

    name = f"{prepared.name}.xlsx"
    written = write_workbook(context.result_path(name), prepared.sheets(), progress=report, every=CHUNK)
    context.finish(f"{name}：列表 {total} 条（各工作表合计 {written} 行数据）")
