"""Log filter that keeps ID numbers out of every log line, whatever code wrote them."""

from __future__ import annotations

import logging

from tongban.core.masking import mask_id_numbers_in_text


class MaskPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_id_numbers_in_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        # A traceback quotes exception messages, which may hold what a service was given.
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_id_numbers_in_text(_FORMATTER.formatException(record.exc_info))
        return True


_FORMATTER = logging.Formatter()
