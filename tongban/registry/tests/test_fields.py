import pytest
from django.db import connection

from tongban.registry.models import Person
from tongban.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_register_photo_is_sealed_at_rest() -> None:
    photo = b"\xff\xd8\xff\xe0" + b"JFIF-photo-bytes" * 50
    person = PersonFactory.create(photo=photo)
    with connection.cursor() as cursor:
        cursor.execute("SELECT photo FROM registry_person WHERE id = %s", [person.pk])
        stored = bytes(cursor.fetchone()[0])
    assert b"JFIF" not in stored
    assert len(stored) == len(photo) + 1 + 12 + 16
    assert Person.objects.get(pk=person.pk).photo == photo
    assert PersonFactory.create().photo is None
