from typing import Any

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest


class AccountsConfig(AppConfig):
    name = "tongban.accounts"
    label = "accounts"
    verbose_name = "用户与权限"

    def ready(self) -> None:
        user_logged_in.connect(_session_started, dispatch_uid="tongban.accounts.session_started")


def _session_started(sender: Any, request: HttpRequest, **kwargs: Any) -> None:
    # The idle clock starts at sign-in, so the first page after it writes no session.
    from tongban.accounts.middleware import mark_active

    mark_active(request)
