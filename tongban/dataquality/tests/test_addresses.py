from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tongban.core.errors import ServiceError
from tongban.dataquality import services
from tongban.dataquality.addresses import chinese_number, normalise
from tongban.dataquality.models import AddressMatch, StandardAddress
from tongban.registry.models import PersonChange, Unit
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, login

STANDARD = "江西省南昌市东湖区八一大道103号3栋2单元501室"


@pytest.mark.parametrize(
    ("text", "number"),
    [("三", 3), ("十二", 12), ("二十", 20), ("一百零三", 103), ("五〇一", 501), ("两千零五", 2005)],
)
def test_chinese_numbers(text: str, number: int) -> None:
    assert chinese_number(text) == number


@pytest.mark.parametrize(
    "spelling",
    [
        "八一大道103号3栋2单元501室",
        "江西省南昌市东湖区八一大道１０３号３栋２单元５０１室",  # full-width digits
        "八一大道一百零三号三幢二单元五〇一室",  # Chinese numbers, 幢
        "八一大道103号3号楼2单元501房",  # 号楼, 房
        "南昌市东湖区 八一大道 103 号 3 号栋 2 号单元 501 室",
    ],
)
def test_spellings_of_one_address_share_a_key(spelling: str) -> None:
    prefixes = ("江西省", "南昌市", "东湖区")
    assert normalise(spelling, drop_prefixes=prefixes) == normalise(STANDARD, drop_prefixes=prefixes)


def test_different_addresses_keep_different_keys() -> None:
    assert normalise("八一大道103号") != normalise("八一大道13号")
    assert normalise("八一大道103号3栋") != normalise("八一大道1033栋")
    assert normalise("八一大道") == "八一大道"  # 八一 is a name, not a number


def _csv(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path = tmp_path / "doorplates.csv"
    path.write_text(
        "code,region_code,address\n" + "".join(f"{c},{r},{a}\n" for c, r, a in rows), encoding="utf-8"
    )
    return path


@pytest.fixture
def doorplates(tmp_path: Path, db: None) -> Path:
    return _csv(
        tmp_path,
        [
            ("360102-0001", "360102", STANDARD),
            ("360102-0002", "360102", "江西省南昌市东湖区中山路5号"),
            ("999999-0001", "999999", "不存在的县"),
        ],
    )


@pytest.mark.django_db
def test_import_match_and_adopt(doorplates: Path, personas: Personas, client: Client) -> None:
    out = StringIO()
    call_command("dataquality", "addresses-import", str(doorplates), stdout=out)
    assert json.loads(out.getvalue()) == {"imported": 2, "updated": 0, "skipped": 1}
    assert StandardAddress.objects.count() == 2

    standard = PersonFactory.create(address=STANDARD)
    variant = PersonFactory.create(address="东湖区八一大道一百零三号三幢二单元五〇一室")
    unknown = PersonFactory.create(address="东湖区不存在路9号")
    elsewhere = PersonFactory.create(
        address="八一大道103号3栋2单元501室", registration_unit=Unit.objects.get(code="360702001")
    )
    counts = services.addresses_match(unit=Unit.objects.get(code="36"))
    assert (counts["standard"], counts["proposed"], counts["unmatched"]) == (1, 1, 2)
    status = dict(AddressMatch.objects.values_list("person_id", "status"))
    assert status == {
        standard.pk: "standard",
        variant.pk: "proposed",
        unknown.pk: "unmatched",
        elsewhere.pk: "unmatched",
    }

    # The station's list: unmatched ones per station; a proposal adopted as a correction.
    login(client, personas.nanchang_reviewer)  # 360102002: not this station's people
    assert (
        client.get(reverse("dataquality:addresses"), {"unit": "360102001", "status": "proposed"}).context[
            "rows"
        ]
        == []
    )
    login(client, personas.donghu_supervisor)
    page = client.get(reverse("dataquality:addresses"), {"unit": "360102001", "status": "proposed"})
    assert page.status_code == 200
    assert [m.person_id for m in page.context["rows"]] == [variant.pk]
    match = AddressMatch.objects.get(person=variant)
    response = client.post(
        reverse("dataquality:addresses") + "?unit=360102001&status=proposed",
        {"match": match.pk, "accept": "1"},
    )
    assert response.status_code == 302
    variant.refresh_from_db()
    assert variant.address == STANDARD
    change = PersonChange.objects.get(person=variant)
    assert (change.field, change.old_value, change.new_value) == (
        "address",
        "东湖区八一大道一百零三号三幢二单元五〇一室",
        STANDARD,
    )
    with pytest.raises(ServiceError) as again:
        services.address_match_decide(actor=personas.donghu_supervisor, match_id=match.pk, accept=False)
    assert again.value.code == "not_proposed"
    # A re-match keeps the decision and now finds the address standard.
    services.addresses_match(unit=Unit.objects.get(code="360102"))
    assert AddressMatch.objects.get(person=variant).status in {"accepted", "standard"}

    # Supervisors see the lists; who may not file corrections may not adopt; outsiders get 404.
    login(client, personas.admin)
    assert client.get(reverse("dataquality:addresses")).status_code == 200
    other = AddressMatch.objects.get(person=unknown)
    with pytest.raises(ServiceError):
        services.address_match_decide(actor=personas.admin, match_id=other.pk, accept=True)
    login(client, personas.ganzhou_clerk)
    assert client.get(reverse("dataquality:addresses")).status_code == 404


@pytest.mark.django_db
def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("code,address\n1,x\n", encoding="utf-8")
    with pytest.raises(ServiceError) as refused:
        services.addresses_import(path=path, actor=None)
    assert "region_code" in refused.value.message
