"""Typed input of the distribution and handover pages; business checks stay in the services."""

from __future__ import annotations

import base64
import binascii

from django import forms
from django.http import QueryDict

from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.handover.models import Handover
from tongban.handover.services import SIGNATURE_MAX_BYTES

POSITION_CHOICES = [("", "——"), *FINGER_POSITION_NAMES.items()]
FINGER_IMAGE_MAX_BYTES = 2 * 1024 * 1024


class FingerFields(forms.Form):
    finger_image = forms.FileField(label="现场采集的指纹图像", required=False)
    # The image chosen before a refusal that was not about the finger (a missing signature, an
    # unticked box) travels back with the page, so the clerk need not choose it again.
    finger_image_kept = forms.CharField(widget=forms.HiddenInput, required=False)
    finger_position = forms.ChoiceField(label="指位", choices=POSITION_CHOICES, required=False)
    override_reason = forms.CharField(
        label="比对未通过时的人工核对情况",
        max_length=200,
        required=False,
        help_text="仅在确属本人而多次比对不通过时填写；将记入办理记录。",
    )

    def clean_finger_image(self) -> object:
        upload = self.cleaned_data.get("finger_image")
        if upload is not None and upload.size is not None and upload.size > FINGER_IMAGE_MAX_BYTES:
            raise forms.ValidationError("指纹图像不能超过 2 MB。")
        return upload

    _finger_bytes: bytes | None = None
    _finger_read = False

    def finger_bytes(self) -> bytes | None:
        """The image uploaded now, or the one kept from the previous attempt."""
        if not self._finger_read:
            upload = self.cleaned_data.get("finger_image") if hasattr(self, "cleaned_data") else None
            self._finger_bytes = bytes(upload.read()) if upload else self.kept_image()
            self._finger_read = True
        return self._finger_bytes

    def kept_image(self) -> bytes | None:
        text = str(self.data.get("finger_image_kept") or "")
        if not text or len(text) > 4 * ((FINGER_IMAGE_MAX_BYTES + 2) // 3):
            return None
        try:
            return base64.b64decode(text, validate=True) or None
        except (binascii.Error, ValueError):
            return None

    def keep_finger(self, keep: bool) -> None:
        """After a refusal: carry the image chosen back to the page, or drop it when the finger
        itself was refused (it must be taken again)."""
        image = self.finger_bytes() if keep else None
        data = QueryDict(mutable=True)
        data.update(self.data)
        data["finger_image_kept"] = base64.b64encode(image).decode() if image else ""
        self.data = data

    @property
    def kept_size(self) -> int:
        image = self.kept_image()
        return len(image) if image else 0


class HandoverForm(FingerFields):
    way = forms.ChoiceField(
        label="领取方式",
        choices=[(Handover.Way.IN_PERSON.value, "本人领取"), (Handover.Way.PROXY.value, "亲属代领")],
        widget=forms.RadioSelect,
        initial=Handover.Way.IN_PERSON.value,
    )
    relative_name = forms.CharField(label="代领人姓名", max_length=50, required=False)
    relative_id_number = forms.CharField(label="代领人公民身份号码", max_length=40, required=False)
    signature_data = forms.CharField(widget=forms.HiddenInput, required=False)
    paper_signed = forms.BooleanField(label="领证人已在《居民身份证异地受理登记表》上签字", required=False)
    # Asked only when the applicant holds a 临时居民身份证 (the service refuses without an answer).
    temporary_returned = forms.TypedChoiceField(
        label="临时居民身份证",
        choices=[("yes", "已收回"), ("no", "未收回")],
        coerce=lambda value: value == "yes",
        empty_value=None,
        widget=forms.RadioSelect,
        required=False,
    )
    temporary_reason = forms.CharField(label="未收回原因", max_length=200, required=False)

    def signature(self) -> bytes | None:
        """The canvas posts a data: URL of a PNG."""
        text = self.cleaned_data.get("signature_data") or ""
        if not text:
            return None
        text = text.partition(",")[2] if text.startswith("data:") else text
        if len(text) > 4 * ((SIGNATURE_MAX_BYTES + 2) // 3):
            return b"too large"  # refused by the service's own check
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return b"invalid"


class VerificationForm(FingerFields):
    card_checked = forms.BooleanField(
        label="已核对证件信息（姓名、公民身份号码、有效期限等）与本人一致", required=False
    )
