"""A binary column sealed with SM4-GCM under settings.DATA_KEY (personal data at rest)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from tongban.core.crypto import seal, unseal


class SealedBinaryField(models.BinaryField):
    """Stores `seal(plaintext)`; Python code only ever sees the plaintext bytes.

    `context` binds each blob to its column, so a photo blob copied into a template column
    fails authentication instead of decrypting.
    """

    def __init__(self, *args: Any, context: str, **kwargs: Any) -> None:
        self.context = context
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["context"] = self.context
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is not None and not prepared:
            value = seal(settings.DATA_KEY, bytes(value), context=self.context.encode())
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> bytes | None:
        if value is None:
            return None
        return unseal(settings.DATA_KEY, bytes(value), context=self.context.encode())
