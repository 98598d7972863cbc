"""The demo liaisons (联络人) are seeded once: units whose list exists are left alone."""

from __future__ import annotations

import pytest

from tongban.demo.liaisons import liaisons_seed_demo
from tongban.liaison.models import Liaison

pytestmark = pytest.mark.django_db


def test_the_demo_seed_is_idempotent(personas):
    made = liaisons_seed_demo()
    assert made == Liaison.objects.count() > 0
    assert liaisons_seed_demo() == 0
