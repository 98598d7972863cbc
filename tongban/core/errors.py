"""The one error a business action raises when it refuses: a machine code, a Chinese message for
the user and, where the refusal is about particular inputs, a message per field. Pure Python;
the API turns it into its JSON error shape and the pages show it beside the fields."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused action; nothing was changed. `status` is the HTTP status the API answers with
    (400 bad input, 409 the record is not in a state that allows the action)."""

    def __init__(
        self, code: str, message: str, *, fields: dict[str, str] | None = None, status: int = 400
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.status = status
