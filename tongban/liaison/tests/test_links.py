"""The directory offers 维护本单位联络人 only where the edit page opens: cities, counties, stations
keep liaisons; the provincial department does not."""

from __future__ import annotations

import pytest
from django.test import Client

from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db


def test_the_edit_button_is_offered_only_where_it_opens(client: Client, personas: Personas) -> None:
    login(client, personas.admin)  # 江西省公安厅
    page = client.get("/liaisons/").content.decode()
    assert "维护本单位联络人" not in page
    assert client.get("/liaisons/36/edit/").status_code == 404
    client.logout()
    login(client, personas.nanchang_supervisor)  # 南昌市公安局: a supervisor keeps the city's list
    assert "维护本单位联络人" in client.get("/liaisons/").content.decode()
    assert client.get("/liaisons/3601/edit/").status_code == 200
