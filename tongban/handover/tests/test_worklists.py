"""The distribution and handover work lists and forms: a scanner's search (an exact 受理号 or
公民身份号码 opens the item), totals, sortable columns, numbered pages and pinned query counts;
the confirmation steps of 发出 and 转发 (nothing changes without 确认); every refused form shown
again with what was entered; the API lists with the same search and order."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from tongban.handover import selectors
from tongban.handover.models import DistributionRule, Shipment
from tongban.handover.tests.test_api import receive, ship
from tongban.intake.models import Application
from tongban.registry.models import Card, Unit
from tongban.review.services import review_approve
from tongban.testing.factories import PersonFactory, UserFactory, station
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db
Status = Application.Status


def search(client: Client, url: str, text: str | None, **keep: str) -> Any:
    """What the search box does: a POST answered with the list to GET (the text never in a URL)."""
    text = text or ""
    posted = client.post(url, {"q": text, **keep})
    assert posted.status_code == 302 and text not in posted["Location"], posted
    return client.get(posted["Location"])


@pytest.fixture
def waiting(
    personas: Personas, accept: Callable[..., Application], produce: Callable[[Application], Application]
) -> list[Application]:
    """Three cards 待领取 at 东湖区城关派出所, received in one shipment."""
    made = [
        produce(accept(personas.nanchang_clerk, PersonFactory.create(name=name)))
        for name in ("王芳", "李静", "张伟")
    ]
    (shipment,) = ship(personas, *(a.number or "" for a in made))
    assert receive(personas.nanchang_distributor, shipment["id"]).status_code == 200
    return [Application.objects.get(pk=a.pk) for a in made]


def test_the_ready_list_opens_the_card_a_scanner_reads(
    personas: Personas, waiting: list[Application]
) -> None:
    client = login(Client(), personas.nanchang_distributor)
    numbers = [a.number or "" for a in waiting]
    page = client.get("/handover/").content.decode()
    assert "共 <strong>3</strong> 件待领取" in page and 'name="q"' in page and "autofocus" in page
    assert all(number in page for number in numbers) and all(a.id_number not in page for a in waiting)
    for typed in (numbers[1], waiting[1].id_number, f" {numbers[1]} "):
        posted = client.post("/handover/", {"q": typed})
        assert typed.strip() not in posted["Location"]
        opened = client.get(posted["Location"])
        assert opened.status_code == 302 and opened["Location"] == f"/handover/{waiting[1].pk}/"
    named = search(client, "/handover/", "李").content.decode()
    assert "找到 <strong>1</strong> 件待领取" in named and numbers[1] in named
    assert numbers[0] not in named and "清除查询" in named
    part = search(client, "/handover/", numbers[2][-6:]).content.decode()
    assert numbers[2] in part and numbers[0] not in part


def test_a_card_not_in_the_list_is_located(
    personas: Personas, waiting: list[Application], handed: Any
) -> None:
    client = login(Client(), personas.nanchang_distributor)
    elsewhere = search(client, "/handover/", waiting[0].number).content.decode()
    assert f"受理号 {waiting[0].number} 当前为“已领取”，不在待领取中。" in elsewhere
    nobody = search(client, "/handover/", "110105194910010023").content.decode()
    assert "待领取中没有该公民身份号码。" in nobody
    stranger = login(
        Client(), UserFactory.create(username="x_dist", role="distributor", unit=station("360702001"))
    )
    far = search(stranger, "/handover/", waiting[1].number).content.decode()
    assert "待领取中没有该受理号。" in far and "当前为" not in far  # outside: not even its state


@pytest.fixture
def handed(personas: Personas, waiting: list[Application]) -> Application:
    client = login(Client(), personas.nanchang_distributor)
    done = client.post(f"/handover/{waiting[0].pk}/", {"way": "in_person", "paper_signed": "on"})
    assert done.status_code == 302
    return waiting[0]


def test_sorting_and_numbered_pages(personas: Personas, waiting: list[Application]) -> None:
    user = personas.nanchang_distributor
    order = selectors.READY_SORTING.resolve("-number")
    first = selectors.ready_page(user, order=order, limit=1)
    expected = sorted((a.number or "" for a in waiting), reverse=True)
    assert [a.number for a in first.rows] == expected[:1] and (first.total, first.pages) == (3, 3)
    assert [link.number for link in first.links if link] == [1, 2, 3]
    last = [link for link in first.links if link][-1]
    third = selectors.ready_page(user, order=order, limit=1, after=last.after, page=3)
    assert [a.number for a in third.rows] == expected[2:] and third.next is None and third.number == 3
    back = next(link for link in third.links if link and link.number == 2)
    second = selectors.ready_page(user, order=order, limit=1, after=back.after, page=2)
    assert [a.number for a in second.rows] == expected[1:2]
    client = login(Client(), user)
    sorted_page = client.get("/handover/?sort=-number").content.decode()
    positions = [sorted_page.index(number) for number in expected]
    assert positions == sorted(positions) and 'aria-sort="descending"' in sorted_page


def test_query_counts_of_the_lists_are_pinned(personas: Personas, waiting: list[Application]) -> None:
    client = login(Client(), personas.nanchang_distributor)
    shipment = Shipment.objects.get()
    client.get("/handover/")
    pinned = {
        # session, user, second factor, unit, the list's count and rows, the subtree's units, the
        # verification counts
        "/handover/": 8,
        "/handover/?sort=name": 8,
        "/handover/verifications/": 8,
        # session, user, second factor, unit, the list's count and rows
        "/handover/shipments/?view=all": 6,
        # session, user, second factor, unit, the shipment, the items' count and rows
        f"/handover/shipments/{shipment.pk}/": 7,
    }
    for url, count in pinned.items():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) == count, (url, [q["sql"][:120] for q in queries])
    # A page deep in a list adds the keys before it (and the last page's start): a constant.
    first = selectors.ready_page(personas.nanchang_distributor, limit=1)
    assert first.next is not None
    with CaptureQueriesContext(connection) as queries:
        selectors.ready_page(personas.nanchang_distributor, limit=1, after=first.next.after, page=2)
    assert len(queries) == 4


def test_shipments_search_opens_the_shipment_holding_the_card(
    personas: Personas, waiting: list[Application]
) -> None:
    shipment = Shipment.objects.get()
    for user in (personas.centre_operator, personas.nanchang_distributor):
        client = login(Client(), user)
        posted = client.post("/handover/shipments/", {"q": waiting[2].id_number, "view": "incoming"})
        opened = client.get(posted["Location"])
        assert opened["Location"] == f"/handover/shipments/{shipment.pk}/?q={waiting[2].number}"
        page = client.get(opened["Location"]).content.decode()
        assert (
            "找到 <strong>1</strong> 张" in page
            and 'class="hit"' in page
            and (waiting[0].number or "") not in page
        )
    listed = client.get("/handover/shipments/?view=all&sort=state").content.decode()
    assert "共 <strong>1</strong> 份分发单" in listed and 'aria-sort="ascending"' in listed


# ---------------------------------------------------------------------------------------------
# 发出 and 转发 ask first; a refusal keeps the ticks and the numbers typed


@pytest.fixture
def produced_pair(
    personas: Personas,
    accept: Callable[..., Application],
    produce: Callable[[Application], Application],
    produce_issued: Callable[[Application], Application],
) -> tuple[Application, Application]:
    """One card for the station, one going by post (issued at 城东派出所, the household's)."""
    plain = produce(accept(personas.nanchang_clerk, PersonFactory.create()))
    reviewer = UserFactory.create(username="chengdong_reviewer", role="reviewer", unit=station("360102002"))
    posted = accept(
        personas.nanchang_clerk,
        PersonFactory.create(registration_unit=station("360102002")),
        collection="post",
        postal_recipient="刘晓燕",
        postal_phone="13800138001",
        postal_address="江西省南昌市东湖区八一大道1号",
    )
    review_approve(actor=reviewer, application=posted, step=1)
    return plain, produce_issued(posted)


def test_shipping_asks_for_confirmation_and_keeps_what_was_entered(
    personas: Personas, produced_pair: tuple[Application, Application]
) -> None:
    plain, postal = produced_pair
    client = login(Client(), personas.centre_operator)
    numbers = [plain.number, postal.number]
    untracked = client.post("/handover/shipments/new/", {"applications": numbers})
    page = untracked.content.decode()
    assert untracked.status_code == 400 and "邮政寄递须填写邮件号" in page and 'class="has-error"' in page
    assert page.count(" checked>") == 2 and not Shipment.objects.exists()
    typed = {"applications": numbers, f"tracking_{postal.number}": "EMS1234567890CN"}
    asked = client.post("/handover/shipments/new/", typed)
    confirm = asked.content.decode()
    assert (
        asked.status_code == 200 and "确认发出以下 2 张证件？" in confirm and "将生成分发单 2 份" in confirm
    )
    assert "EMS1234567890CN" in confirm and "分发至受理单位：东湖区城关派出所（1 张）" in confirm
    assert not Shipment.objects.exists()
    assert Application.objects.get(pk=plain.pk).status == Status.PRODUCED
    edit = client.post("/handover/shipments/new/", {**typed, "confirm": "1", "edit": "1"}).content.decode()
    assert (
        edit.count(" checked>") == 2 and 'value="EMS1234567890CN"' in edit and not Shipment.objects.exists()
    )
    sent = client.post("/handover/shipments/new/", {**typed, "confirm": "1"})
    assert sent.status_code == 302 and Shipment.objects.count() == 2
    assert Application.objects.get(pk=plain.pk).status == Status.SHIPPED
    # The same tracking number again, for nothing left: refused, as typed.
    again = client.post("/handover/shipments/new/", {**typed, "confirm": "1"})
    assert again.status_code == 400 and "当前为“已分发”" in again.content.decode()


def test_scanning_ticks_cards_on_the_ship_form_and_enter_never_sends(
    personas: Personas, produced_pair: tuple[Application, Application]
) -> None:
    plain, postal = produced_pair
    client = login(Client(), personas.centre_operator)
    page = client.get("/handover/shipments/new/").content.decode()
    assert "待分发 <strong>2</strong> 张" in page and 'id="ship-q"' in page
    url = "/handover/shipments/new/"
    scanned = client.post(url, {"action": "find", "q": postal.id_number, "applications": [plain.number]})
    page = scanned.content.decode()
    assert scanned.status_code == 200 and f"已勾选受理号 {postal.number}" in page
    assert page.count(" checked>") == 2 and "已勾选 <strong>2</strong> 张" in page
    # A scanner's Enter in the tracking number field: the form again, nothing sent, nothing lost.
    typed = {"action": "find", "q": "", "applications": [plain.number, postal.number],
             f"tracking_{postal.number}": "EMS1234567890CN"}  # fmt: skip
    again = client.post(url, typed).content.decode()
    assert again.count(" checked>") == 2 and 'value="EMS1234567890CN"' in again
    assert not Shipment.objects.exists()
    # Ticked cards stay listed on a page that does not hold them.
    later = client.post(url + f"?after={postal.pk}", typed).content.decode()
    assert (plain.number or "") in later and later.count(" checked>") == 2
    unknown = client.post(url, {"action": "find", "q": "3601020012099010199999"})
    assert unknown.status_code == 400 and "本中心没有该待分发的证件" in unknown.content.decode()


def test_a_tracking_number_used_twice_is_refused_beside_the_field(
    personas: Personas, produced_pair: tuple[Application, Application]
) -> None:
    plain, postal = produced_pair
    client = login(Client(), personas.centre_operator)
    other = Shipment.objects.create(
        method="post", origin=Unit.objects.get(code="360000901"), created_by=personas.centre_operator
    )
    other.items.create(
        application=plain,
        card=Card.objects.get(application_number=plain.number),
        tracking_number="EMS1",
        outcome="delivered",
    )
    refused = client.post(
        "/handover/shipments/new/", {"applications": [postal.number], f"tracking_{postal.number}": "EMS1"}
    )
    assert refused.status_code == 400 and "邮件号已被使用" in refused.content.decode()
    assert 'value="EMS1"' in refused.content.decode()


def test_forwarding_asks_for_confirmation(
    personas: Personas, waiting: list[Application], accept: Callable[..., Application],
    produce: Callable[[Application], Application],
) -> None:  # fmt: skip
    DistributionRule.objects.create(region_prefix="360102", route="county", note="集中换发")
    cards = [produce(accept(personas.nanchang_clerk, PersonFactory.create())) for _ in range(2)]
    (leg,) = ship(personas, *(c.number or "" for c in cards))
    county = UserFactory.create(username="donghu_distributor", role="distributor", unit=station("360102"))
    assert receive(county, leg["id"]).status_code == 200
    client = login(Client(), county)
    asked = client.post("/handover/shipments/forward/", {})
    page = asked.content.decode()
    assert asked.status_code == 200 and "确认转发以下 2 张证件？" in page and "全部待转发" in page
    assert Shipment.objects.count() == 2  # the centre's two, nothing new
    back = client.post(
        "/handover/shipments/forward/", {"applications": [c.number for c in cards], "all": "1", "edit": "1"}
    )
    assert " checked>" not in back.content.decode()
    one = client.post("/handover/shipments/forward/", {"applications": [cards[0].number]})
    assert "确认转发以下 1 张证件？" in one.content.decode()
    done = client.post("/handover/shipments/forward/", {"applications": [cards[0].number], "confirm": "1"})
    assert done.status_code == 302 and Shipment.objects.count() == 3
    statuses = [
        ShipmentItem.forwarded_at
        for ShipmentItem in Shipment.objects.get(pk=leg["id"]).items.order_by("application_id")
    ]
    assert statuses[0] is not None and statuses[1] is None


def test_a_refused_receipt_keeps_the_ticks_and_notes_and_counting_marks_cards(
    personas: Personas, produced_pair: tuple[Application, Application]
) -> None:
    plain, _ = produced_pair
    (leg,) = ship(personas, plain.number or "")
    client = login(Client(), personas.nanchang_distributor)
    url = f"/handover/shipments/{leg['id']}/receive/"
    counted = client.post(url, {"action": "find", "q": plain.id_number, "note": "箱子完好"})
    page = counted.content.decode()
    assert counted.status_code == 200 and "已清点 <strong>1</strong> / 1 张" in page and 'class="hit"' in page
    assert 'value="箱子完好"' in page
    unknown = client.post(url, {"action": "find", "q": "3601020012099010199999", "scanned": [plain.number]})
    assert unknown.status_code == 400 and "本分发单中没有该受理号" in unknown.content.decode()
    assert "已清点 <strong>1</strong> / 1 张" in unknown.content.decode()
    both = {"action": "receive", "missing": [plain.number], "damaged": [plain.number],
            f"note_{plain.number}": "外壳破损", "note": "箱子完好"}  # fmt: skip
    refused = client.post(url, both)
    page = refused.content.decode()
    assert refused.status_code == 400 and "不能同时登记为缺失和损坏" in page and 'class="error"' in page
    assert page.count(" checked>") == 2 and 'value="外壳破损"' in page and 'value="箱子完好"' in page
    assert Shipment.objects.get(pk=leg["id"]).state == "in_transit"


def test_a_refused_delivery_keeps_the_tracking_number(
    personas: Personas, produced_pair: tuple[Application, Application]
) -> None:
    _, postal = produced_pair
    (leg,) = ship(personas, postal.number or "", **{postal.number or "": "EMS1234567890CN"})
    client = login(Client(), personas.centre_operator)
    refused = client.post(f"/handover/shipments/{leg['id']}/delivered/", {"tracking_number": "EMS999"})
    page = refused.content.decode()
    assert refused.status_code == 400 and "未找到该邮件号" in page and 'value="EMS999"' in page


def _png() -> str:
    out = io.BytesIO()
    Image.new("L", (480, 160), 255).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def test_a_refused_handover_keeps_the_signature_the_finger_and_the_relative(
    personas: Personas, waiting: list[Application]
) -> None:
    client = login(Client(), personas.nanchang_distributor)
    url = f"/handover/{waiting[0].pk}/"
    finger = io.BytesIO(b"\x89PNG fake finger image")
    finger.name = "finger.png"
    unsigned = client.post(
        url, {"way": "in_person", "finger_image": finger, "finger_position": "11", "override_reason": "老茧"}
    )
    page = unsigned.content.decode()
    assert unsigned.status_code == 400 and "请签名或勾选已在登记表上签字" in page
    kept = base64.b64encode(b"\x89PNG fake finger image").decode()
    assert f'value="{kept}"' in page and "沿用上次选择的指纹图像" in page
    assert 'value="老茧"' in page and '<option value="11" selected>' in page
    drawn = _png()
    bad_relative = client.post(
        url,
        {"way": "proxy", "relative_name": "刘建国", "relative_id_number": "1234", "signature_data": drawn},
    )
    page = bad_relative.content.decode()
    assert bad_relative.status_code == 400 and 'value="刘建国"' in page and 'value="1234"' in page
    assert drawn in page  # the canvas draws it again
    assert Application.objects.get(pk=waiting[0].pk).status == Status.AT_SITE


# ---------------------------------------------------------------------------------------------
# The API lists


def test_the_api_lists_take_the_same_search_and_order(personas: Personas, waiting: list[Application]) -> None:
    api = api_client(personas.nanchang_distributor)
    body = api.get("/api/v1/handover/ready", {"q": waiting[1].id_number}).json()
    assert body["count"] == 1 and body["results"][0]["number"] == waiting[1].number
    ordered = api.get("/api/v1/handover/ready", {"sort": "-number", "after": ""}).json()
    assert [row["number"] for row in ordered["results"]] == sorted(
        (a.number or "" for a in waiting), reverse=True
    )
    assert api.get("/api/v1/handover/ready", {"sort": "phone"}).status_code == 400
    assert api.get("/api/v1/handover/ready", {"after": "abc"}).json()["code"] == "invalid"
    assert api.get("/api/v1/handover/ready", {"q": "1"}).status_code == 400
    shipments = api.get("/api/v1/shipments", {"q": waiting[0].number or "", "view": "outgoing"}).json()
    assert shipments["count"] == 1 and shipments["results"][0]["id"] == Shipment.objects.get().pk
    verifications = api.get("/api/v1/verifications", {"q": waiting[0].number or ""}).json()
    assert verifications["count"] == 0 and verifications["view"] == "all"
