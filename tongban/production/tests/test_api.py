"""The production API and pages: what the centre operator does; every other role is refused by
the API with 403 and shown 404 by the pages, the other centre's operator finds nothing (404)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from tongban.intake.models import Application
from tongban.production import services
from tongban.production.models import Batch
from tongban.testing.personas import api_client, login

pytestmark = pytest.mark.django_db

OTHERS = [
    "nanchang_clerk",
    "nanchang_reviewer",
    "nanchang_distributor",
    "ganzhou_clerk",
    "donghu_supervisor",
    "nanchang_supervisor",
    "province_supervisor",
    "finance",
    "civil_affairs",
    "campaign_manager",
    "auditor",
    "admin",
]


@pytest.fixture
def packaged(personas, issue, centre_keys) -> Batch:
    issue(personas.nanchang_clerk)
    issue(personas.nanchang_clerk)
    operator = personas.centre_operator
    return services.batch_package(
        actor=operator, batch=services.batch_create(actor=operator, centre=operator.unit)
    )


def test_the_operator_works_through_the_api(personas, issue, centre_keys):
    first = issue(personas.nanchang_clerk)
    issue(personas.nanchang_clerk)
    api = api_client(personas.centre_operator)
    queue = api.get("/api/v1/production/queue").json()
    assert queue["total"] == 2 and queue["units"][0]["code"] == "360102001"
    created = api.post(
        "/api/v1/production/batches", {"acceptance_unit": "360102001", "size": 1}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["state"] == "open" and body["progress"] == {"pending": 1, "produced": 0, "failed": 0}
    item = body["items"][0]
    assert (
        item["number"] == first.number and "*" in item["id_number"] and item["id_number"] != first.id_number
    )
    pk = body["id"]
    assert api.get(f"/api/v1/production/batches/{pk}/package").status_code == 404  # not packaged yet
    packaged = api.post(f"/api/v1/production/batches/{pk}/package").json()
    assert packaged["state"] == "packaged" and len(packaged["package"]["sm3"]) == 64
    download = api.get(f"/api/v1/production/batches/{pk}/package")
    assert download.status_code == 200 and download.getvalue().startswith(b"TBPKG")
    assert [b["id"] for b in api.get("/api/v1/production/batches").json()["results"]] == [pk]
    lines = [{"batch": body["number"], "number": first.number, "result": "produced", "card_serial": "C-0001"}]
    report = api.post("/api/v1/production/feedback", {"lines": lines}, format="json").json()
    assert report["counts"] == {"applied": 1, "already_applied": 0, "rejected": 0}
    assert Application.objects.get(pk=first.pk).status == Application.Status.PRODUCED
    again = api.post("/api/v1/production/feedback", {"lines": lines}, format="json").json()
    assert again["counts"]["already_applied"] == 1 and again["duplicate_of"] == report["upload_id"]
    assert api.get(f"/api/v1/production/batches/{pk}").json()["state"] == "closed"


def test_feedback_as_a_file_and_the_error_shape(personas, packaged):
    api = api_client(personas.centre_operator)
    number = packaged.items.first().application.number
    rows = [{"batch": packaged.number, "number": number, "result": "failed", "reason": "data_error"}]
    upload = SimpleUploadedFile("feedback.json", json.dumps(rows).encode(), content_type="application/json")
    report = api.post("/api/v1/production/feedback", {"file": upload}, format="multipart").json()
    assert report["counts"]["applied"] == 1
    broken = SimpleUploadedFile("f.csv", b"foo,bar\n1,2\n", content_type="text/csv")
    refused = api.post("/api/v1/production/feedback", {"file": broken}, format="multipart")
    assert (
        refused.status_code == 400
        and refused.json()["code"] == "bad_file"
        and "file" in refused.json()["fields"]
    )
    big = SimpleUploadedFile("f.csv", b"x" * 5000, content_type="text/csv")
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=4096):  # stopped while it arrives
        too_large = api.post("/api/v1/production/feedback", {"file": big}, format="multipart")
    assert too_large.status_code == 413 and too_large.json()["code"] == "too_large"
    empty = api.post("/api/v1/production/batches", {"size": 0}, format="json")
    assert empty.status_code == 400 and empty.json()["code"] == "invalid"


@pytest.mark.parametrize("name", OTHERS)
def test_everybody_else_is_refused_by_the_api(personas, packaged, name):
    api = api_client(personas.all()[name])
    pk = packaged.pk
    for method, url in [
        ("get", "/api/v1/production/queue"),
        ("get", "/api/v1/production/batches"),
        ("post", "/api/v1/production/batches"),
        ("get", f"/api/v1/production/batches/{pk}"),
        ("get", f"/api/v1/production/batches/{pk}/package"),
        ("post", f"/api/v1/production/batches/{pk}/package"),
        ("post", "/api/v1/production/feedback"),
    ]:
        response = getattr(api, method)(url, {} if method == "post" else None, format="json")
        assert response.status_code == 403, (name, method, url, response.status_code)
        assert response.json()["code"] == "permission_denied"


def test_the_other_centre_sees_nothing_of_this_one(ganzhou_operator, packaged):
    api = api_client(ganzhou_operator)
    assert api.get("/api/v1/production/batches").json() == {"count": 0, "results": [], "next_after": None}
    assert api.get(f"/api/v1/production/batches/{packaged.pk}").status_code == 404
    assert api.get(f"/api/v1/production/batches/{packaged.pk}/package").status_code == 404
    assert api.get("/api/v1/production/queue").json()["total"] == 0


def test_the_operators_pages(personas, issue, centre_keys, client: Client):
    application = issue(personas.nanchang_clerk)
    login(client, personas.centre_operator)
    page = client.get("/production/")
    assert page.status_code == 200 and "东湖区城关派出所" in page.content.decode()
    assert application.id_number not in page.content.decode()
    created = client.post("/production/batches/new/", {"acceptance_unit": "360102001", "size": 10})
    batch = Batch.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/production/batches/{batch.pk}/"
    client.post(f"/production/batches/{batch.pk}/package/")
    detail = client.get(f"/production/batches/{batch.pk}/").content.decode()
    assert "下载数据包" in detail and application.id_number not in detail and application.number in detail
    download = client.get(f"/production/batches/{batch.pk}/package.tbpkg")
    assert download.status_code == 200 and download["Content-Disposition"].endswith('.tbpkg"')
    csv = (
        f"批次号,受理号,结果,卡号,原因,备注\n{batch.number},{application.number},failed,,photo_quality,模糊\n"
    )
    upload = SimpleUploadedFile("回馈.csv", csv.encode("gb18030"), content_type="text/csv")
    done = client.post("/production/feedback/", {"file": upload})
    assert done.status_code == 302
    report = client.get(done["Location"]).content.decode()
    assert "已处理 <strong>1</strong> 行" in report
    assert "制证" in client.get("/production/batches/").content.decode()


def test_the_station_recollects_on_the_detail_page(
    personas, issue, centre_keys, standard_photo, client: Client
):
    application = issue(personas.nanchang_clerk)
    operator = personas.centre_operator
    batch = services.batch_package(
        actor=operator, batch=services.batch_create(actor=operator, centre=operator.unit)
    )
    from tongban.production.feedback import parse_json

    lines = parse_json(
        [{"batch": batch.number, "number": application.number, "result": "failed", "reason": "photo_quality"}]
    )
    services.feedback_apply(actor=operator, centre=operator.unit, lines=lines, source="api")
    login(client, personas.nanchang_clerk)
    page = client.get(f"/applications/{application.pk}/").content.decode()
    assert "重新采集相片" in page
    bad = client.post(
        f"/production/recollect/{application.pk}/", {"image": SimpleUploadedFile("x.jpg", b"not a jpeg")}
    )
    assert bad.status_code == 302
    assert Application.objects.get(pk=application.pk).status == Application.Status.RECOLLECT
    good = client.post(
        f"/production/recollect/{application.pk}/", {"image": SimpleUploadedFile("p.jpg", standard_photo)}
    )
    assert good.status_code == 302
    assert Application.objects.get(pk=application.pk).status == Application.Status.ISSUED


@pytest.mark.parametrize("name", OTHERS)
def test_everybody_else_gets_404_from_the_pages(personas, packaged, name, client: Client):
    login(client, personas.all()[name])
    pk = packaged.pk
    for url in ["/production/", "/production/batches/", f"/production/batches/{pk}/",
                f"/production/batches/{pk}/package.tbpkg", "/production/feedback/"]:  # fmt: skip
        assert client.get(url).status_code == 404, (name, url)
    assert client.post("/production/batches/new/", {"size": 1}).status_code == 404
    assert client.post(f"/production/batches/{pk}/package/").status_code == 404
    assert "制证</a>" not in client.get("/").content.decode()


def test_what_the_api_refuses(personas, packaged, settings):
    api = api_client(personas.centre_operator)
    form = api.post("/api/v1/production/batches", {"size": 1})
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    too_many = api.post(
        "/api/v1/production/batches", {"size": settings.CARD_PRODUCTION["BATCH_MAX"] + 1}, format="json"
    )
    assert too_many.status_code == 400 and "size" in too_many.json()["fields"]
    nothing = api.post("/api/v1/production/batches", {}, format="json")
    assert nothing.status_code == 409 and nothing.json()["code"] == "queue_empty"
    big = SimpleUploadedFile("f.csv", b"0" * (5 * 1024 * 1024 + 1), content_type="text/csv")
    refused = api.post("/api/v1/production/feedback", {"file": big}, format="multipart")
    assert refused.status_code == 413 and refused.json()["code"] == "too_large"
    missing = api.get("/api/v1/production/batches/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
