"""The centre's work lists (production queue, batches, the cards of a batch): a scanner's search
(an exact 受理号 or 公民身份号码 opens the batch holding the card), the total, sortable columns,
numbered pages, pinned query counts; the same search and order through the API; feedback in
the centre's own words through the page and the API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tongban.intake.models import Application
from tongban.production import services
from tongban.production.models import Batch
from tongban.registry.models import Unit
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import api_client, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(personas, issue, centre_keys) -> list[Application]:
    """Three issued applications at 东湖区城关派出所 waiting in the provincial centre's queue."""
    names = ["王芳", "李静", "张伟"]
    return [issue(personas.nanchang_clerk, PersonFactory.create(name=name)) for name in names]


def search(client: Client, url: str, text: str, **keep: str):
    """What the search box does: a POST, answered with the list (or the item) to GET. The text
    never appears in the URL."""
    posted = client.post(url, {"q": text, **keep})
    assert posted.status_code == 302 and text not in posted["Location"], posted
    return client.get(posted["Location"])


def _batch(personas, size: int | None = None) -> Batch:
    operator = personas.centre_operator
    centre = Unit.objects.get(code="360000901")
    return services.batch_package(
        actor=operator, batch=services.batch_create(actor=operator, centre=centre, size=size)
    )


def test_the_queue_lists_cards_one_by_one_searched_sorted_and_counted(personas, queued, client: Client):
    login(client, personas.centre_operator)
    page = client.get("/production/").content.decode()
    assert "共 <strong>3</strong> 件" in page and 'id="worklist-q"' in page and "autofocus" in page
    assert all(a.number in page and a.id_number not in page and a.masked_id_number in page for a in queued)
    by_name = client.get("/production/?sort=-name").content.decode()
    expected = Application.objects.filter(pk__in=[a.pk for a in queued]).order_by("-name", "-pk")
    positions = [by_name.index(number or "") for number in expected.values_list("number", flat=True)]
    assert positions == sorted(positions) and 'aria-sort="descending"' in by_name
    found = search(client, "/production/", queued[1].id_number).content.decode()
    assert "找到 <strong>1</strong> 件" in found and queued[1].number in found
    assert queued[0].number not in found
    # Only in the box it was typed into: never in a link.
    assert found.count(queued[1].id_number) == 1 and f'value="{queued[1].id_number}"' in found
    part = search(client, "/production/", queued[2].number[-5:]).content.decode()
    assert queued[2].number in part and queued[0].number not in part
    unit = client.get("/production/", {"unit": "360102001"}).content.decode()
    assert "待制证明细：东湖区城关派出所" in unit
    kept = search(client, "/production/", queued[0].name, unit="360102001", sort="-number").content.decode()
    assert queued[0].number in kept and 'aria-sort="descending"' in kept
    assert "待制证明细：东湖区城关派出所" in kept
    short = search(client, "/production/", "12").content.decode()
    assert "请输入完整的受理号" in short and 'class="error"' in short
    expired = client.get("/production/?s=abcdefghij").content.decode()
    assert "该查询已过期" in expired and "共 <strong>3</strong> 件" in expired


def test_an_exact_search_for_a_batched_card_opens_its_batch(personas, queued, client: Client):
    batch = _batch(personas, size=2)
    first = queued[0]
    login(client, personas.centre_operator)
    for url in ("/production/", "/production/batches/"):
        for typed in (first.number, first.id_number):
            posted = client.post(url, {"q": typed})
            response = client.get(posted["Location"])
            assert response.status_code == 302, (url, typed)
            assert response["Location"] == f"/production/batches/{batch.pk}/?q={first.number}"
    inside = client.get(response["Location"]).content.decode()
    assert "找到 <strong>1</strong> 张" in inside and 'class="hit"' in inside
    assert queued[1].number not in inside
    by_batch_number = client.get(client.post("/production/batches/", {"q": batch.number})["Location"])
    assert by_batch_number["Location"] == f"/production/batches/{batch.pk}/"
    still_queued = search(client, "/production/batches/", queued[2].number).content.decode()
    assert f"受理号 {queued[2].number} 当前为“已签发”，不在本中心的批次中。" in still_queued
    unknown = search(client, "/production/batches/", "3601020012099010199999").content.decode()
    assert "本中心的批次中没有该受理号。" in unknown
    in_batch = search(client, f"/production/batches/{batch.pk}/", queued[1].name).content.decode()
    assert "找到 <strong>1</strong> 张" in in_batch and queued[1].number in in_batch


def test_the_batches_and_the_cards_of_a_batch_are_paged_with_numbers(
    personas, queued, client: Client, settings
):
    batches = [_batch(personas, size=1) for _ in range(3)]
    login(client, personas.centre_operator)
    from tongban.production import selectors

    page = selectors.batches_page(personas.centre_operator, limit=1)
    assert page.total == 3 and page.pages == 3 and [b.pk for b in page.rows] == [batches[-1].pk]
    assert [link.number for link in page.links if link] == [1, 2, 3]
    listed = client.get("/production/batches/?sort=size").content.decode()
    assert "共 <strong>3</strong> 个批次" in listed and 'aria-sort="ascending"' in listed
    second = selectors.batches_page(personas.centre_operator, limit=1, after=page.next_after, page=2)
    assert [b.pk for b in second.rows] == [batches[1].pk] and second.number == 2


def test_query_counts_of_the_centres_lists_are_pinned(personas, queued, client: Client):
    batch = _batch(personas, size=2)
    login(client, personas.centre_operator)
    client.get("/production/")  # warm the session and the content types
    expected = {
        # session, user, second factor, unit, the routing (2), queue counts, the list's count, rows
        "/production/": 9,
        # session, user, second factor, unit, the list's count and rows
        "/production/batches/": 6,
        # ... the batch, the items' count and rows, the progress
        f"/production/batches/{batch.pk}/": 8,
        f"/production/batches/{batch.pk}/?q={queued[0].number}": 8,
    }
    for url, count in expected.items():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert len(queries) == count, (url, [q["sql"] for q in queries])


def test_the_api_takes_the_same_search_order_and_cursor(personas, queued):
    api = api_client(personas.centre_operator)
    body = api.get("/api/v1/production/queue", {"q": queued[0].number}).json()
    assert body["total"] == 3 and body["count"] == 1
    assert body["results"][0]["number"] == queued[0].number and "*" in body["results"][0]["id_number"]
    first = api.get("/api/v1/production/queue", {"sort": "number"}).json()
    assert [row["number"] for row in first["results"]] == sorted(a.number for a in queued)
    bad = api.get("/api/v1/production/queue", {"sort": "nonsense"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and "sort" in bad.json()["fields"]
    bad = api.get("/api/v1/production/queue", {"after": "x:y"})
    assert bad.status_code == 400 and "after" in bad.json()["fields"]
    bad = api.get("/api/v1/production/queue", {"unit": "360702001"})
    assert bad.status_code == 400 and bad.json()["code"] == "unknown_unit"
    batch = _batch(personas, size=2)
    batches = api.get("/api/v1/production/batches", {"q": queued[1].number}).json()
    assert batches["count"] == 1 and batches["results"][0]["id"] == batch.pk
    assert api.get("/api/v1/production/batches", {"q": queued[2].number}).json()["count"] == 0
    assert api.get("/api/v1/production/batches", {"q": "12"}).status_code == 400


def test_feedback_in_the_centres_words_through_the_page_and_the_api(personas, queued, client: Client):
    batch = _batch(personas)
    made, photo, chip = queued
    text = (
        "批次号,受理号,结果,证件序列号,原因,备注\n"
        "# 填写说明\n"
        f"{batch.number},{made.number},已制证,CS-0001,,\n"
        f"{batch.number},{photo.number},制证失败,,相片不合格,背景偏灰\n"
        f"{batch.number},{chip.number},做好了,,,\n"
    )
    login(client, personas.centre_operator)
    done = client.post(
        "/production/feedback/", {"file": SimpleUploadedFile("回馈.csv", text.encode("gb18030"))}
    )
    assert done.status_code == 302
    report = client.get(done["Location"]).content.decode()
    assert "已处理 <strong>2</strong> 行" in report and "拒收 <strong>1</strong> 行" in report
    assert "制证失败（相片质量不合格）" in report and "结果为“做好了”" in report and "<td>5</td>" in report
    statuses = dict(Application.objects.filter(pk__in=[a.pk for a in queued]).values_list("pk", "status"))
    assert statuses == {made.pk: "produced", photo.pk: "recollect", chip.pk: "in_production"}
    # The same results in codes, through the API: already done, nothing changes; the third now.
    lines = [
        {"batch": batch.number, "number": made.number, "result": "produced", "card_serial": "CS-0001"},
        {"批次号": batch.number, "受理号": photo.number, "结果": "failed", "原因": "photo_quality"},
        {"batch": batch.number, "number": chip.number, "result": "制证失败", "reason": "芯片写入失败"},
    ]
    body = api_client(personas.centre_operator).post(
        "/api/v1/production/feedback", {"lines": lines}, format="json"
    )
    assert body.status_code == 200, body.json()
    counts = body.json()["counts"]
    assert counts == {"applied": 1, "already_applied": 2, "rejected": 0}
    assert Application.objects.get(pk=chip.pk).status == "issued"  # chip error: reprint


def test_the_templates_offer_chinese_headers(personas, queued, client: Client):
    batch = _batch(personas, size=1)
    login(client, personas.centre_operator)
    blank = client.get("/production/feedback/template.csv").content.decode("utf-8-sig")
    assert blank.splitlines()[0] == "批次号,受理号,结果,证件序列号,原因,备注" and "制证失败" in blank
    filled = client.get(f"/production/batches/{batch.pk}/feedback.csv").content.decode("utf-8-sig")
    assert f"{batch.number},{queued[0].number},,,," in filled
    assert "下载空白回馈模板" in client.get("/production/feedback/").content.decode()


def test_a_refused_package_is_shown_in_the_package_box(personas, queued, client: Client):
    operator = personas.centre_operator
    batch = services.batch_create(actor=operator, centre=operator.unit, size=1)
    Application.objects.filter(pk=queued[0].pk).update(photo=None, card_images=None, card_images_key=None)
    login(client, operator)
    refused = client.post(f"/production/batches/{batch.pk}/package/")
    page = refused.content.decode()
    assert refused.status_code == 409 and "缺少相片或有效期限，无法打包" in page
    assert page.index("缺少相片") > page.index("<h2>数据包</h2>")  # beside the button, not on top
    assert not Batch.objects.get(pk=batch.pk).package_file


def test_a_refused_batch_keeps_the_unit_and_size(personas, queued, client: Client):
    login(client, personas.centre_operator)
    refused = client.post("/production/batches/new/", {"acceptance_unit": "360102001", "size": "0"})
    page = refused.content.decode()
    assert refused.status_code == 400 and 'value="0"' in page and "errorlist" in page
    assert '<option value="360102001" selected>' in page and not Batch.objects.exists()
