"""The draft workspace never loses what the clerk typed: every POST saves the details first, and a
refusal brings the page back as typed with the message beside the field or in the section of the
action. Confirmation before 放弃本次受理, 重新采集全部指纹 and 撤销."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.core import idnumber
from tongban.core.dates import add_years
from tongban.intake import capture, rules, services
from tongban.intake.models import Application, Fingerprint
from tongban.testing.applications import NO_FINGERS
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str = "photo.jpg") -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


@pytest.fixture
def draft(personas: Personas) -> Application:
    """A first application (12) of an adult registered at 东湖区城关派出所, started in Ganzhou."""
    return services.application_start(
        actor=personas.ganzhou_clerk,
        person=PersonFactory.create(name="陈晓明"),
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )


@pytest.fixture
def clerk_client(client: Any, personas: Personas) -> Any:
    return login(client, personas.ganzhou_clerk)


def typed(application: Application, **changes: Any) -> dict[str, Any]:
    """The details as the clerk typed them in the workspace's one form (`details=1`)."""
    return {
        "details": "1",
        "name": application.name,
        "sex": application.sex_id,
        "ethnicity": "03",  # 回族: differs from the register, which is allowed
        "birth_date": application.birth_date.isoformat(),
        "household_address": application.household_address,
        "residence_address": "江西省赣州市章贡区红旗大道1号",
        "phone": "13800138000",
        "collection": "station",
        "materials_shown": ["household_book", "residence_proof"],
        "pledge_signed": "on",
        **changes,
    }


def url(name: str, application: Application) -> str:
    return reverse(f"intake:{name}", args=[application.pk])


def assert_saved(application: Application) -> None:
    application.refresh_from_db()
    assert application.phone == "13800138000"
    assert application.residence_address == "江西省赣州市章贡区红旗大道1号"
    assert application.ethnicity_id == "03"
    assert application.materials_shown == ["household_book", "residence_proof"]
    assert application.pledge_signed


def test_a_photo_uploaded_first_keeps_the_details_typed(clerk_client, draft, standard_photo):
    response = clerk_client.post(
        url("upload_photo", draft), {**typed(draft), "photo-image": upload(standard_photo)}
    )
    assert response.status_code == 302 and response["Location"].endswith("#photo")
    assert_saved(draft)
    assert draft.photo is not None
    page = clerk_client.get(response["Location"]).content.decode()
    # The result stands in the photo section, as a success; the details say they were saved.
    photo = page.split('id="photo"')[1].split("</section>")[0]
    assert "message-success" in photo and "相片符合制证标准" in photo
    details = page.split('id="details"')[1].split("</section>")[0]
    assert "申请信息已保存" in details


def test_a_failed_photo_keeps_the_details_and_says_why_in_red(clerk_client, draft):
    response = clerk_client.post(
        url("upload_photo", draft), {**typed(draft), "photo-image": upload(b"not a picture")}
    )
    assert response.status_code == 302
    assert_saved(draft)
    assert draft.photo is None
    page = clerk_client.get(response["Location"]).content.decode()
    photo = page.split('id="photo"')[1].split("</section>")[0]
    assert "message-error" in photo and 'role="alert"' in photo and "message-success" not in photo


def test_no_file_chosen_is_an_error_in_the_photo_section(clerk_client, draft):
    response = clerk_client.post(url("upload_photo", draft), typed(draft), follow=True)
    photo = response.content.decode().split('id="photo"')[1].split("</section>")[0]
    assert "请选择不超过 10 MB 的 JPEG 相片文件" in photo and "message-error" in photo
    assert_saved(draft)


def test_details_refused_come_back_as_typed_and_the_photo_is_still_checked(
    clerk_client, draft, standard_photo
):
    before = draft.phone
    response = clerk_client.post(
        url("upload_photo", draft), {**typed(draft, phone="12"), "photo-image": upload(standard_photo)}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "电话号码格式不正确" in page
    assert 'value="12"' in page and "红旗大道1号" in page  # what was typed is there
    assert 'value="residence_proof" checked' in page
    assert '<option value="03" selected>回族</option>' in page
    draft.refresh_from_db()
    assert draft.phone == before and draft.residence_address == ""  # nothing half-saved
    assert draft.photo is not None  # the photo was taken all the same


def test_a_finger_recorded_keeps_the_details_and_marks_its_row(clerk_client, draft):
    response = clerk_client.post(
        url("record_finger", draft),
        {
            **typed(draft),
            "finger-position": "11",
            "finger-outcome": "not_registered",
            "finger-reason": "右手拇指受伤",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("#fingers")
    assert_saved(draft)
    assert Fingerprint.objects.get(application=draft, position="11").reason == "右手拇指受伤"
    fingers = clerk_client.get(response["Location"]).content.decode().split('id="fingers"')[1]
    assert 'id="finger-11" class="just-recorded"' in fingers
    assert "右手拇指：未注册" in fingers.split("</section>")[0]


def test_a_refused_finger_comes_back_with_what_was_chosen_and_typed(clerk_client, draft):
    response = clerk_client.post(
        url("record_finger", draft),
        {**typed(draft), "finger-position": "11", "finger-outcome": "not_registered", "finger-reason": " "},
    )
    assert response.status_code == 400
    page = response.content.decode()
    fingers = page.split('id="fingers"')[1].split("</section>")[0]
    assert "注册失败或未注册的手指须填写原因" in fingers and "message-error" in fingers
    assert '<option value="not_registered" selected>' in fingers
    assert_saved(draft)  # the details were saved before the finger was refused
    assert not Fingerprint.objects.filter(application=draft).exists()

    missing_image = clerk_client.post(
        url("record_finger", draft),
        {**typed(draft), "finger-position": "11", "finger-outcome": "registered", "finger-reason": ""},
    )
    assert missing_image.status_code == 400
    assert "注册成功须上传指纹图像" in missing_image.content.decode()


def test_a_finger_reason_typed_survives_another_button(clerk_client, draft):
    """Enter in the details (or 保存申请信息) while a finger's reason is typed: the page comes back
    with that reason still there rather than a redirect that drops it."""
    response = clerk_client.post(
        url("save_details", draft),
        {
            **typed(draft),
            "finger-position": "16",
            "finger-outcome": "failed",
            "finger-reason": "左手拇指脱皮",
        },
    )
    assert response.status_code == 200
    assert 'value="左手拇指脱皮"' in response.content.decode()
    assert_saved(draft)


def test_a_together_photo_keeps_the_details(client, personas):
    child = PersonFactory.create(birth_date=add_years(timezone.localdate(), -9))
    draft = services.application_start(
        actor=personas.ganzhou_clerk,
        person=child,
        application_type=rules.ApplicationType.FIRST,
        reason_code="11",
    )
    login(client, personas.ganzhou_clerk)
    guardian = {
        "guardianship": "same_household",
        "guardian_name": "陈建华",
        "guardian_id_number": idnumber.build("360102", datetime.date(1985, 3, 1), 11),
        "guardian_relation": "父亲",
        "materials_shown": ["household_book"],
    }
    response = client.post(
        url("upload_guardian_photo", draft),
        {**typed(draft, **guardian), "guardian-image": upload(b"not a picture")},
        follow=True,
    )
    draft.refresh_from_db()
    assert draft.guardian_name == "陈建华" and draft.phone == "13800138000"
    section = response.content.decode().split('id="guardian"')[1].split("</section>")[0]
    assert "同框相片不可用" in section and "message-error" in section


def test_accept_saves_what_was_typed_first(clerk_client, draft, standard_photo):
    capture.application_photo_attach(actor=draft.created_by, application=draft, image=standard_photo)
    capture.application_fingers_record(actor=draft.created_by, application=draft, captures=NO_FINGERS)
    # The materials are ticked and the phone typed but not saved: 确认受理 saves them and accepts.
    response = clerk_client.post(url("accept", draft), typed(draft))
    draft.refresh_from_db()
    assert response.status_code == 302
    assert draft.status == Application.Status.PENDING_REVIEW and draft.phone == "13800138000"


def test_accept_with_details_refused_accepts_nothing(clerk_client, draft, standard_photo):
    capture.application_photo_attach(actor=draft.created_by, application=draft, image=standard_photo)
    capture.application_fingers_record(actor=draft.created_by, application=draft, captures=NO_FINGERS)
    response = clerk_client.post(url("accept", draft), typed(draft, phone="12"))
    assert response.status_code == 400
    accept = response.content.decode().split('id="accept"')[1]
    assert "申请信息有误，尚未保存，未受理" in accept
    draft.refresh_from_db()
    assert draft.status == Application.Status.DRAFT


def test_acceptance_refused_says_why_in_the_accept_section(clerk_client, draft):
    response = clerk_client.post(url("accept", draft), typed(draft), follow=True)
    accept = response.content.decode().split('id="accept"')[1].split("</section>")[0]
    assert "尚不能受理" in accept and "message-error" in accept
    assert_saved(draft)


def test_abandon_asks_first_then_withdraws_the_draft_and_deletes_its_biometrics(
    clerk_client, draft, standard_photo
):
    capture.application_photo_attach(actor=draft.created_by, application=draft, image=standard_photo)
    capture.application_fingers_record(actor=draft.created_by, application=draft, captures=NO_FINGERS[:2])
    asked = clerk_client.post(url("abandon", draft), typed(draft))
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "确定放弃本次受理" in page and 'name="confirmed" value="1"' in page
    assert 'name="phone" value="13800138000"' in page  # the same fields go again
    draft.refresh_from_db()
    assert draft.status == Application.Status.DRAFT  # nothing happens before the answer
    assert_saved(draft)  # …but 取消 comes back to what was typed

    done = clerk_client.post(url("abandon", draft), {**typed(draft), "confirmed": "1"})
    assert done.status_code == 302 and done["Location"] == reverse("intake:counter") + "?view=draft"
    draft.refresh_from_db()
    assert draft.status == Application.Status.WITHDRAWN and draft.closed_at is not None
    assert draft.photo is None and not draft.fingerprints.exists()
    event = draft.events.get(action="abandoned")
    assert event.note == "放弃本次受理"
    assert AuditEvent.objects.filter(action="application.abandoned", object_id=str(draft.pk)).exists()
    record = clerk_client.get(url("detail", draft)).content.decode()
    assert "放弃受理" in record and "已撤销" in record


def test_abandon_is_only_for_a_draft_of_ones_own_counter(client, personas, draft, accept):
    login(client, personas.nanchang_clerk)  # another station
    response = client.post(url("abandon", draft), {"confirmed": "1"})
    assert response.status_code == 404
    accepted = accept(personas.ganzhou_clerk, PersonFactory.create())
    client.logout()
    login(client, personas.ganzhou_clerk)
    refused = client.post(url("abandon", accepted), {"confirmed": "1"}, follow=True)
    assert "不能放弃受理" in refused.content.decode()
    accepted.refresh_from_db()
    assert accepted.status == Application.Status.PENDING_REVIEW


def test_resetting_the_fingers_asks_first(clerk_client, draft):
    capture.application_fingers_record(actor=draft.created_by, application=draft, captures=NO_FINGERS[:2])
    asked = clerk_client.post(url("reset_fingers", draft), typed(draft))
    assert asked.status_code == 200 and "确定重新采集" in asked.content.decode()
    assert draft.fingerprints.count() == 2
    clerk_client.post(url("reset_fingers", draft), {**typed(draft), "confirmed": "1"})
    assert draft.fingerprints.count() == 0
    assert_saved(draft)


def test_withdraw_asks_first_and_keeps_the_reason(clerk_client, personas, accept):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    blank = clerk_client.post(url("withdraw", application), {"reason": "  "})
    assert blank.status_code == 400
    form = blank.content.decode().split('id="withdraw"')[1]
    assert "这个字段是必填项" in form or "必填" in form
    asked = clerk_client.post(url("withdraw", application), {"reason": "申请人自愿撤回"})
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "确定撤销" in page and 'name="reason" value="申请人自愿撤回"' in page
    # 取消 goes back to the record with the reason still in the box.
    cancel = page.split('class="button" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "申请人自愿撤回" in clerk_client.get(cancel).content.decode()
    application.refresh_from_db()
    assert application.status == Application.Status.PENDING_REVIEW
    done = clerk_client.post(url("withdraw", application), {"reason": "申请人自愿撤回", "confirmed": "1"})
    assert done.status_code == 302
    application.refresh_from_db()
    assert application.status == Application.Status.WITHDRAWN
    # Once withdrawn it cannot be again: the page says why, with the reason typed kept.
    again = clerk_client.post(url("withdraw", application), {"reason": "再次撤销", "confirmed": "1"})
    assert again.status_code == 409
    assert "不能撤销" in again.content.decode()


def test_refusal_note_is_kept_when_refused(clerk_client, personas, accept):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    response = clerk_client.post(url("refusal_notified", application), {"note": "电话告知本人"})
    assert response.status_code == 409
    assert "只有不予签发的申领需要告知申请人" in response.content.decode()


def test_codes_never_reach_the_pages(clerk_client, personas, draft, accept):
    page = clerk_client.get(url("detail", draft)).content.decode()
    sex = page.split('name="sex"')[1].split("</select>")[0]
    ethnicity = page.split('name="ethnicity"')[1].split("</select>")[0]
    assert ">男</option>" in sex and ">1 男<" not in sex
    assert ">汉族</option>" in ethnicity and ">回族</option>" in ethnicity and "01 汉族" not in ethnicity
    assert ethnicity.count("<option") >= 56
    finger = page.split('name="finger-position"')[1].split("</select>")[0]
    assert ">右手拇指（11）</option>" in finger
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    record = clerk_client.get(url("detail", application)).content.decode()
    assert "已交验材料</dt><dd>居民户口簿、居住证明" in record
    assert "household_book" not in record and "residence_proof" not in record


def test_messages_look_like_what_they_are(clerk_client, personas, accept):
    """An error is never drawn as a success: each level has its own class and ARIA role."""
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    response = clerk_client.post(
        url("withdraw", application), {"reason": "自愿撤回", "confirmed": "1"}, follow=True
    )
    page = response.content.decode()
    assert 'class="message message-success" role="status"' in page
    again = clerk_client.post(url("refusal_notified", application), {"note": "x"})
    assert 'class="message message-error" role="alert"' in again.content.decode()
