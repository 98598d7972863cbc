"""Sign-in with a one-time activation code (首次登录) in place of the password.

An account created by an administrator (or whose password an administrator reset) has no usable
password; its activation code signs it in, and `PasswordSetupMiddleware` then keeps it on the
password page until the user has set their own. The code stops working when the password is set
or when it expires (`TONGBAN_ACTIVATION_DAYS`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from tongban.accounts.models import User
from tongban.accounts.services import activation_code_matches


class ActivationCodeBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if not username or not password:
            return None
        user = User.objects.filter(username=username.strip().lower(), must_set_password=True).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        return user if activation_code_matches(user, password) else None
