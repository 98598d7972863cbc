"""The session engine (`SESSION_ENGINE = "tongban.accounts.sessions"`): Django's database sessions,
each row also naming its user (`StaffSession.user`), so that all sessions of one account can be
found and ended at once (`services.sessions_revoke`). The user is taken from the session data on
every save, so a session keeps it through key rotation at login and password change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore


class SessionStore(DatabaseStore):
    @classmethod
    def get_model_class(cls) -> Any:
        from tongban.accounts.models import StaffSession

        return StaffSession

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        instance: Any = super().create_model_instance(data)
        try:
            instance.user_id = int(data[SESSION_KEY])
        except (KeyError, TypeError, ValueError):
            instance.user_id = None
        return instance
