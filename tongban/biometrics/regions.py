"""The region of a stored template: the household region code (户籍地区划, the county's 6 digits)
of the person it depicts. It decides which engine node indexes the template (`shards.py`).

Templates are named by reference, never by ID number (`services.person_ref`,
`intake.capture.application_ref`, `services.watchlist_photos_enrol`):

| ref | region |
|---|---|
| `person:<pk>` (常住人口相片库) | `Person.region_code` |
| `wanted:<pk>` (在逃人员库) | the listed person's `region_code` |
| `floating:<pk>` (流动人口库) | the registered person's `region_code` (household, not residence) |
| `application:<pk>` (受理相片库) | `Application.region_code` (the applicant's household) |

Anything else (or a ref whose row is gone) has the region "": only a node configured for the
regions no prefix claims (`*`) takes it.
"""

from __future__ import annotations

MAX_PK_DIGITS = 18


def ref_region(ref_id: str) -> str:
    kind, _, key = ref_id.partition(":")
    if not key.isascii() or not key.isdigit() or len(key) > MAX_PK_DIGITS:
        return ""
    pk = int(key)
    from tongban.registry.models import FloatingRegistration, Person, WantedPerson

    found: str | None = None
    if kind == "person":
        found = Person.objects.filter(pk=pk).values_list("region_code", flat=True).first()
    elif kind == "wanted":
        found = WantedPerson.objects.filter(pk=pk).values_list("person__region_code", flat=True).first()
    elif kind == "floating":
        found = (
            FloatingRegistration.objects.filter(pk=pk).values_list("person__region_code", flat=True).first()
        )
    elif kind == "application":  # intake.capture.APPLICATIONS_GALLERY_PREFIX
        from tongban.intake.models import Application

        found = Application.objects.filter(pk=pk).values_list("region_code", flat=True).first()
    return found or ""
