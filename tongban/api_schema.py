"""The API's error vocabulary and how the served OpenAPI schema declares it.

`ERRORS` is the one list of the top-level error codes the API answers with, each with its HTTP
status and its meaning; docs/api.md lists the same codes (tests/test_api_contract.py holds the two
and every `ServiceError`/`ApiError` in the code to each other). Each operation states the
business codes it can refuse with:

    class WithdrawView(APIView):
        @extend_schema(...)
        @errors("reason_required", "not_withdrawable")
        def post(self, request, number): ...

and `Schema` (drf-spectacular's AutoSchema, DEFAULT_SCHEMA_CLASS) declares, per status, the
error answers the operation can give: those codes plus what every operation of its kind can
meet (401 without a valid token, 403 without the right, 404 for a path parameter, 400 for input,
413/415 for a body). Each error response's `code` is an enum of exactly
those codes, so a schema-checking client (or schemathesis) catches an undeclared one.

`page_of` declares a keyset-paginated list as the object it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny


@dataclass(frozen=True)
class ErrorCode:
    status: int
    meaning: str


# fmt: off
ERRORS: dict[str, ErrorCode] = {
    # --- Any operation -------------------------------------------------------------------------
    "invalid": ErrorCode(400, "input failed validation; `fields` says which field and why (each field error has its own code, e.g. `required`, `blank`, `invalid_checksum`)"),
    "parse_error": ErrorCode(400, "the body is not valid JSON (or not valid multipart)"),
    "bad_request": ErrorCode(400, "the request could not be read at all (e.g. a `Host` this server does not answer to)"),
    "not_authenticated": ErrorCode(401, "no token or session was sent"),
    "authentication_failed": ErrorCode(401, "the token is unknown, revoked, or its account deactivated"),
    "permission_denied": ErrorCode(403, "the caller's role may not take this action at all, or not at this unit"),
    "password_change_required": ErrorCode(403, "the account must set its password on the web page first (首次登录 or after 重置密码)"),
    "csrf_failed": ErrorCode(403, "a browser session's write without its CSRF token"),
    "not_found": ErrorCode(404, "does not exist **or is outside the caller's jurisdiction** (never said which); also a path that is no endpoint"),
    "method_not_allowed": ErrorCode(405, "the path has no operation for this HTTP method"),
    "too_large": ErrorCode(413, "the body (or an uploaded file) is over its limit"),
    "unsupported_media_type": ErrorCode(415, "the body's Content-Type is not one the operation reads"),
    "server_error": ErrorCode(500, "the server failed; nothing is said about why (the log has it); retry later"),
    # --- Sign-in (POST /auth/token) ------------------------------------------------------------
    "invalid_credentials": ErrorCode(401, "unknown username, wrong password, or a deactivated account"),
    "second_factor_required": ErrorCode(401, "the account has a second factor: send `otp`"),
    "invalid_otp": ErrorCode(401, "the one-time code is wrong or expired"),
    "login_locked": ErrorCode(429, "too many failed sign-ins of this account or from this address: `message` says when to try again, `Retry-After` in how many seconds"),
    "rate_limited": ErrorCode(429, "too many requests to a public door (进度查询, 预约, 电子证照核验, 身份证核查) from this address, for this record or by this institution: `message` says when to try again, `Retry-After` in how many seconds"),
    # --- Register, units, liaisons -------------------------------------------------------------
    "duplicate_number": ErrorCode(409, "the 公民身份号码 is held by several people (重号) and is being cleaned: not usable until corrected"),
    "number_changed": ErrorCode(409, "the number was changed by a 重号 correction and the old one belongs to several people: use the new number"),
    "not_applicable": ErrorCode(400, "liaisons are kept only for city and county bureaus and stations"),
    # --- Accounts (users) ----------------------------------------------------------------------
    "username_taken": ErrorCode(400, "the username is already used"),
    "own_account": ErrorCode(403, "an administrator may not deactivate or reset their own account"),
    "already_inactive": ErrorCode(409, "the account is already deactivated"),
    "already_active": ErrorCode(409, "the account is not deactivated"),
    "no_second_factor": ErrorCode(409, "the account has no second factor to reset"),
    "weak_password": ErrorCode(400, "the new password is not acceptable (too weak, or the activation code itself)"),
    "bad_username": ErrorCode(400, "`fields.username`: not 3–30 of `a-z 0-9 _ . -` starting with a letter or digit"),
    "empty_name": ErrorCode(400, "`fields.name`: the name is empty"),
    "bad_name": ErrorCode(400, "`fields.name`: the name is too long or has digits or symbols"),
    "role_unit_mismatch": ErrorCode(400, "`fields.role`: the role may not sit at that kind of unit (受理员 only at a station …)"),
    "bad_phone": ErrorCode(400, "`fields.phone`: neither a mobile number nor a landline with area code"),
    # --- Configuration (review chains, campaigns, distribution) --------------------------------
    "unstaffed_units": ErrorCode(409, "a step lands on units where no active account holds the needed role; `fields` lists them. Resend with `override: true` and an `override_reason` to save anyway (audited)"),
    "override_reason_required": ErrorCode(400, "`override` was sent without `override_reason`"),
    "override_reason_too_long": ErrorCode(400, "`override_reason` is over its length"),
    # --- Acceptance (受理) ----------------------------------------------------------------------
    "not_eligible": ErrorCode(400, "the person may not apply (deceased, emigrated, not 16 for a first card taken without guardian …); the message says why"),
    "bad_reason": ErrorCode(400, "the 申领原因 does not belong to the 申领类型, or the held card does not allow it (e.g. 有效期满换领 before the renewal window)"),
    "reason_age_mismatch": ErrorCode(400, "申领原因 11 is only for applicants under 16 and 12 only for 16 or over, on the date that fixes the age"),
    "application_open": ErrorCode(409, "the person already has an application in progress"),
    "incomplete": ErrorCode(400, "something the counter needs is missing (materials, photo, fingers, pledge, guardian); `fields` says what"),
    "photo_rejected": ErrorCode(400, "the photo does not meet the card photo standard; the message lists the checks it failed"),
    "finger_missing": ErrorCode(400, "a finger recorded as registered has no image or template"),
    "finger_order": ErrorCode(400, "the finger positions are not the order the standard requires"),
    "finger_quality": ErrorCode(400, "the fingerprint is too poor to use; capture it again"),
    "no_face": ErrorCode(400, "no face found in the photo"),
    "several_faces": ErrorCode(400, "more than one face in a photo that must show only the applicant"),
    "not_jpeg": ErrorCode(400, "the photo is not a JPEG image"),
    "bad_image": ErrorCode(400, "no fingerprint image was received"),
    "corrupt_image": ErrorCode(400, "the fingerprint image is damaged or incomplete"),
    "unsupported_format": ErrorCode(400, "the fingerprint image format is not PNG, BMP, TIFF or JPEG"),
    "image_too_large": ErrorCode(400, "the fingerprint image has too many pixels"),
    "image_too_small": ErrorCode(400, "the fingerprint image is too small"),
    "no_features": ErrorCode(400, "too few minutiae found in the fingerprint"),
    "bad_template": ErrorCode(400, "a fingerprint or face template is malformed"),
    "bad_position": ErrorCode(400, "a fingerprint template carries no valid finger position"),
    "bad_format": ErrorCode(400, "the template format is not supported"),
    "wrong_modality": ErrorCode(400, "a face template was given where a fingerprint one is needed, or the reverse"),
    "bad_ref": ErrorCode(400, "the biometric engine was given an invalid reference to compare with"),
    "unsupported": ErrorCode(400, "the configured biometric engine does not offer this operation"),
    "not_standard_size": ErrorCode(400, "a chip photo is made only from a standard-size (358×441) photo"),
    "engine_unavailable": ErrorCode(503, "the biometric engine does not answer; retry later"),
    "engine_error": ErrorCode(503, "the biometric engine answered something unusable; retry later"),
    "engine_not_configured": ErrorCode(503, "no biometric engine is configured on this server"),
    "daily_limit": ErrorCode(409, "the station has used up today's 受理号 sequence"),
    "no_review_unit": ErrorCode(409, "the household has no unit for a review step of the chain; an administrator must fix the configuration"),
    "not_draft": ErrorCode(409, "the application has been accepted (or closed) and can no longer be changed as a draft"),
    "reason_required": ErrorCode(400, "a reason (撤销原因, 放弃原因 …) is required"),
    "reason_too_long": ErrorCode(400, "the reason or remark is over its length"),
    "not_withdrawable": ErrorCode(409, "the application is past the point where it can be withdrawn (撤销)"),
    "bad_transition": ErrorCode(409, "the application's state does not allow this step (someone else acted first)"),
    "not_refused": ErrorCode(409, "only a refused application (不予签发) is told to the applicant"),
    "not_recollect": ErrorCode(409, "only an application waiting for a new photo (待重新采集) takes one"),
    "unknown_fields": ErrorCode(400, "the request names fields that cannot be changed"),
    "printing_unavailable": ErrorCode(503, "the server cannot print documents now (its PDF font is missing); an operator must fix it"),
    # --- Review (审核签发) ----------------------------------------------------------------------
    "not_routed": ErrorCode(409, "the application has not reached a review step"),
    "other_unit": ErrorCode(409, "the application's current step is at another unit"),
    "taken": ErrorCode(409, "another reviewer has taken (领取) the item"),
    "not_holder": ErrorCode(409, "only the reviewer who took the item can release it"),
    "step_decided": ErrorCode(409, "the step was decided by someone else meanwhile"),
    "already_decided": ErrorCode(409, "the item has already been decided"),
    "bad_method": ErrorCode(400, "核实 needs a 核实方式"),
    "refusal_reason_required": ErrorCode(400, "不予签发 needs a coded refusal reason"),
    "bad_refusal_reason": ErrorCode(400, "no refusal reason has this code"),
    "refusal_reason_inactive": ErrorCode(400, "the refusal reason is no longer in use"),
    # --- Production (制证) ----------------------------------------------------------------------
    "queue_empty": ErrorCode(409, "no issued application is waiting to be scheduled (for that acceptance unit)"),
    "unknown_unit": ErrorCode(400, "no active unit has this code (within the caller's reach)"),
    "bad_size": ErrorCode(400, "the batch size is outside the allowed range"),
    "not_this_centre": ErrorCode(400, "the acceptance unit's applications are not made by the caller's centre"),
    "batch_conflict": ErrorCode(409, "some applications were scheduled by another batch meanwhile; retry"),
    "incomplete_application": ErrorCode(409, "an application lacks its photo or validity and cannot be packaged"),
    "chip_photo_failed": ErrorCode(409, "the chip photo could not be made from an application's photo"),
    "no_centre_key": ErrorCode(409, "the centre has no key yet (`tongban keys generate-centre`)"),
    "no_system_key": ErrorCode(409, "the system signing key has not been generated (`tongban keys generate-system`)"),
    "bad_system_key": ErrorCode(
        500, "the system signing key file is unusable, or its keys passphrase is missing or wrong; an operator must fix it"
    ),
    "not_packaged": ErrorCode(404, "the batch has no data package yet"),
    "has_feedback": ErrorCode(409, "the batch already has production feedback and cannot be packaged again"),
    "not_a_centre": ErrorCode(400, "the unit is not a production centre (command line: key generation)"),
    "key_exists": ErrorCode(409, "the key file already exists; `--force` replaces it (command line)"),
    "bad_key_file": ErrorCode(400, "the file is not a centre key file (command line)"),
    "key_locked": ErrorCode(400, "the key file is encrypted and the keys passphrase is missing or wrong (command line)"),
    "no_passphrase": ErrorCode(400, "no keys passphrase is configured (command line: `tongban keys encrypt`)"),
    "already_encrypted": ErrorCode(409, "the key file's private key is already encrypted (command line)"),
    "bad_file": ErrorCode(400, "the uploaded file cannot be read (wrong columns, encoding or format)"),
    # --- Distribution and handover (分发、发放、核验) --------------------------------------------
    "nothing_selected": ErrorCode(400, "no card was selected to ship"),
    "too_many": ErrorCode(400, "too many cards in one shipment"),
    "cannot_ship": ErrorCode(409, "some selected cards cannot be shipped now; `fields` names them"),
    "already_shipped": ErrorCode(409, "the card is already on its way"),
    "cannot_forward": ErrorCode(409, "the card cannot be forwarded now"),
    "nothing_to_forward": ErrorCode(409, "no card is waiting to be forwarded"),
    "already_received": ErrorCode(409, "the shipment was already received (签收)"),
    "tracking_taken": ErrorCode(409, "a postal tracking number is already used or repeated"),
    "already_delivered": ErrorCode(409, "the postal item was already recorded as delivered"),
    "not_at_site": ErrorCode(409, "the card is not waiting at the caller's station"),
    "no_card": ErrorCode(409, "the application has no card to hand over"),
    "bad_way": ErrorCode(400, "unknown way of collection"),
    "finger_required": ErrorCode(400, "a fingerprint is needed for the comparison"),
    "finger_mismatch": ErrorCode(409, "the fingerprint comparison failed"),
    "signature_required": ErrorCode(400, "the recipient's signature (or a tick that they signed the form) is required"),
    "bad_signature": ErrorCode(400, "a handwritten signature that is not a PNG image within the size limit; 跨省通办: a message whose signature does not verify with the sender's key in the directory"),
    "card_not_checked": ErrorCode(400, "the card's details must be checked (`card_checked: true`)"),
    "not_pending": ErrorCode(409, "the application is not waiting for verification (核验)"),
    # --- Card loss and found cards (挂失招领) ------------------------------------------------
    "card_lost": ErrorCode(409, "the card is reported lost (挂失): restore it (撤销挂失) or accept a 补领 before handing over or verifying"),
    "already_reported": ErrorCode(409, "the person's card is already reported lost (挂失申报 open)"),
    "no_valid_card": ErrorCode(409, "the person holds no valid card to report lost"),
    "not_revivable": ErrorCode(409, "the lost card cannot be valid again: a 补领 was accepted, a newer card exists, or it has expired"),
    "not_waiting": ErrorCode(409, "the found card was already returned, handed back or destroyed"),
    "identity_unchecked": ErrorCode(400, "the collector's identity must be checked (`identity_checked: true`)"),
    "not_owner": ErrorCode(400, "the collector's ID number is not the one on the found card"),
    "not_due": ErrorCode(409, "the found card's keeping time (`keep_until`) has not passed: it cannot be destroyed yet"),
    # --- 临时居民身份证 (temporary) --------------------------------------------------------------
    "no_pending_application": ErrorCode(409, "the person has no formal application being worked on (已受理 … 待领取): no temporary card"),
    "temporary_in_force": ErrorCode(409, "the person already holds a temporary card applied for, issued or handed out (an expired one not yet returned included)"),
    "photo_required": ErrorCode(400, "the formal application has no photo to reuse: send a new one"),
    "bad_state": ErrorCode(409, "the temporary card's state does not allow the action (the message names the state)"),
    "not_printed": ErrorCode(409, "the temporary card must be printed before it is handed out"),
    "temporary_return_required": ErrorCode(400, "the applicant holds a temporary card: say whether it was handed back (`temporary_returned`)"),
    "temporary_reason_required": ErrorCode(400, "a temporary card not handed back needs the reason (`temporary_reason`)"),
    # --- Finance (收费、缴库、结算) ---------------------------------------------------------------
    "bad_amount": ErrorCode(400, "an amount is negative or not a fee the table allows"),
    "already_charged": ErrorCode(409, "the application has already been charged"),
    "waiver_evidence_required": ErrorCode(400, "a fee waiver needs its evidence (e.g. 低保证号)"),
    "receipt_limit": ErrorCode(409, "the unit's receipt numbers for the year are used up"),
    "not_a_station": ErrorCode(400, "remittances are recorded per station; the unit is not one"),
    "day_not_closed": ErrorCode(400, "only days before today can be remitted"),
    "nothing_to_remit": ErrorCode(409, "the station owes nothing for that day"),
    "already_remitted": ErrorCode(409, "the station's day is already remitted"),
    "treasury_reference_required": ErrorCode(400, "the 缴款书号 is required"),
    "bad_period": ErrorCode(400, "the period's end is before its start, or it is not a valid period"),
    "no_settlement_rate": ErrorCode(400, "no settlement rate applies to a day of the period"),
    # --- Campaigns (集中换发) -------------------------------------------------------------------
    "not_a_city": ErrorCode(400, "campaigns are organised per city"),
    "already_open": ErrorCode(409, "the area already has a campaign that has not ended"),
    "bad_phases": ErrorCode(400, "the dates of the campaign's phases are wrong"),
    "bad_steps": ErrorCode(400, "a review chain needs between 1 and the maximum number of steps"),
    "bad_status": ErrorCode(400, "unknown status"),
    "not_preparing": ErrorCode(409, "only a campaign in preparation can be started"),
    "already_applied": ErrorCode(409, "the configuration is already in force"),
    "closed": ErrorCode(409, "the campaign has ended and can no longer be changed"),
    "before_campaign": ErrorCode(400, "the period is before the campaign began"),
    "future_period": ErrorCode(400, "the period has not begun"),
    "note_required": ErrorCode(400, "the 落实情况 note is required"),
    "note_too_long": ErrorCode(400, "the note is over its length"),
    "already_signed": ErrorCode(409, "the report has already been signed (签报)"),
    # --- Register clean-up (数据清理) -----------------------------------------------------------
    "not_authorised": ErrorCode(403, "corrections are approved at county bureaus and above"),
    "own_request": ErrorCode(403, "nobody approves their own request"),
    "pending_exists": ErrorCode(409, "the person already has a pending request of that kind"),
    "not_duplicate": ErrorCode(400, "the person's number is not a 重号: ask for another kind of correction"),
    "stale": ErrorCode(409, "the register changed after the request was made: make a new one"),
    "not_proposed": ErrorCode(409, "the address has no proposed normal form to confirm"),
    "job_finished": ErrorCode(409, "the background job has already finished (completed, failed or cancelled): nothing to cancel"),
    "job_not_retryable": ErrorCode(409, "only a failed or cancelled background job can be retried"),
    "template_invalid": ErrorCode(400, "the notification text names a variable the template does not have, leaves out a required one, or is empty or too long (fields.text says which)"),
    "no_result": ErrorCode(404, "the background job has no result file (not finished, nothing to download, or removed)"),
    # --- 跨省通办 (exchange) ----------------------------------------------------------------------
    "bad_exchange_key": ErrorCode(500, "the province's exchange key file cannot be used (damaged, or its passphrase missing or wrong)"),
    "invalid_public_key": ErrorCode(400, "a peer's public key is neither SM2 hex (128 digits) nor an SM2 PEM public key"),
    "peer_exists": ErrorCode(409, "the region prefix is already in the exchange directory (交换目录)"),
    "peer_inactive": ErrorCode(409, "the peer is suspended (停用): nothing is sent to it"),
    "not_retryable": ErrorCode(409, "only a refused (被拒收) or failed (失败) message is sent again"),
    "bad_envelope": ErrorCode(400, "跨省通办: the message is not a JSON envelope of the protocol (docs/exchange.md)"),
    "wrong_receiver": ErrorCode(400, "跨省通办: the envelope's `to` is another province"),
    "unknown_sender": ErrorCode(403, "跨省通办: the envelope's `from` is not an active peer of the directory"),
    "stale_message": ErrorCode(400, "跨省通办: `sent_at` is outside the receiver's window (24 h by default)"),
    "replayed": ErrorCode(409, "跨省通办: another message was already accepted under this id"),
    "unsupported_kind": ErrorCode(400, "跨省通办: the receiver takes no message of this kind (yet)"),
    "undecryptable": ErrorCode(400, "跨省通办: the sealed body does not open with the receiver's key"),
    "bad_schema": ErrorCode(400, "跨省通办: the body is not what its kind declares (a missing, extra or mistyped field)"),
    # --- 跨省通办 (cross-province) -------------------------------------------------------------
    "invalid_id_number": ErrorCode(400, "the 公民身份号码 is not valid (GB 11643: length, date, region, check digit); the message says why"),
    "own_province": ErrorCode(400, "a number or province code of this system's own province where another province's is needed (外省户籍人员登记, 外省公安机关)"),
    "bad_province": ErrorCode(400, "the code names no province (GB/T 2260)"),
    "province_not_connected": ErrorCode(
        409,
        "the province has no 跨省通办 exchange with us (no 外省公安机关 unit, or its peer missing or suspended)",
    ),
    "person_exists": ErrorCode(409, "the register already has the number (a resident of ours): look the person up instead of registering a guest"),
    "person_unknown": ErrorCode(404, "跨省通办: the number is not in our register (the household province must be ours)"),
    "person_mismatch": ErrorCode(409, "跨省通办: name, sex or birth date disagree with our register; `fields` says which"),
    "bad_message": ErrorCode(400, "跨省通办: a message's content is malformed (missing or badly typed field, a 受理号 not of the sending province)"),
    "not_cross_province": ErrorCode(409, "the application is not a 跨省通办 application of the kind the action needs"),
    "not_decided": ErrorCode(409, "the application has not been issued or refused yet"),
    "number_taken": ErrorCode(409, "the 受理号 is already used by another application"),
    "card_serial_required": ErrorCode(400, "已制证 is reported without its 卡号"),
    "serial_used": ErrorCode(409, "the 卡号 already belongs to another card"),
    "no_validity": ErrorCode(409, "the application has no validity period, so no card can be registered"),
    # --- 居民身份证核查 (cardcheck) ---------------------------------------------------------------
    "institution_key_required": ErrorCode(401, "居民身份证核查: no `Authorization: Institution <key>` header (docs/cardcheck.md)"),
    "institution_key_invalid": ErrorCode(401, "居民身份证核查: the institution key is unknown or was replaced by a new one"),
    "institution_suspended": ErrorCode(403, "居民身份证核查: the institution is suspended (已暂停): no check until the provincial department resumes it"),
    "institution_exists": ErrorCode(409, "an institution with this 统一社会信用代码 is already registered for 居民身份证核查"),
    "already_suspended": ErrorCode(409, "the institution is already suspended (已暂停)"),
    "not_suspended": ErrorCode(409, "the institution is not suspended: nothing to resume"),
    # --- 电子证照 (ecert) ---------------------------------------------------------------------------
    "certificate_not_valid": ErrorCode(409, "the electronic certificate is no longer valid (its card was reported lost, replaced, cancelled or has expired): no code is printed"),
    "bad_ecert_key": ErrorCode(500, "the province's certificate signing key file (电子证照签名密钥) cannot be used (damaged, or its passphrase missing or wrong)"),
    # --- 网上预约 (appointments) ------------------------------------------------------------------
    "not_in_register": ErrorCode(400, "网上预约: no resident of the province has this 公民身份号码 with this name (the same answer for an unknown number and a wrong name)"),
    "date_past": ErrorCode(400, "网上预约: the date or half-day has passed"),
    "slot_closed": ErrorCode(400, "网上预约: the station takes no bookings for that half-day (a day off, closed by the station, or beyond the days that can be booked ahead)"),
    "slot_full": ErrorCode(409, "网上预约: the half-day is fully booked"),
    "already_booked": ErrorCode(409, "网上预约: the person already has an active booking (已预约): rebook or cancel it first"),
    "booking_closed": ErrorCode(409, "网上预约: the booking is 已取消, 已到场 or 未到场 and cannot be cancelled, rebooked or opened"),
    "wrong_day": ErrorCode(409, "网上预约: the booking is for another day than today (the counter opens a booking on its day)"),
    "other_station": ErrorCode(409, "网上预约: the booking is at another station than the clerk's"),
}
# fmt: on

# What the biometric engine answers about a fingerprint image or template it cannot use, and when
# the engine itself fails: every operation that takes fingers can meet them.
FINGER_SAMPLE_CODES = (
    "finger_quality",
    "bad_image",
    "corrupt_image",
    "unsupported_format",
    "image_too_large",
    "image_too_small",
    "no_features",
    "bad_template",
    "bad_position",
    "bad_format",
    "wrong_modality",
)
ENGINE_CODES = ("engine_unavailable", "engine_error", "engine_not_configured")

# The codes every operation of a kind can meet, whatever it does.
AUTH_CODES = ("not_authenticated", "authentication_failed")
FORBIDDEN_CODES = ("permission_denied", "password_change_required")
BODY_CODES = ("invalid", "parse_error", "too_large", "unsupported_media_type")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

F = TypeVar("F", bound=Callable[..., Any])


def errors(*codes: str) -> Callable[[F], F]:
    """The business codes a view method can refuse with, declared in the schema by status."""
    unknown = [code for code in codes if code not in ERRORS]
    if unknown:
        raise ValueError(f"error codes not in tongban.api_schema.ERRORS: {unknown}")

    def mark(method: F) -> F:
        method.error_codes = codes  # type: ignore[attr-defined]
        return method

    return mark


def _error_schema(codes: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["code", "message", "fields"],
        "properties": {
            "code": {"type": "string", "enum": codes},
            "message": {"type": "string", "description": "中文说明"},
            "fields": {
                "type": "object",
                "description": "字段名 → 该字段的错误（嵌套字段以路径命名，如 fingers.0.image）",
                "additionalProperties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        },
    }


class Schema(AutoSchema):
    """drf-spectacular's AutoSchema with every error answer an operation can give declared."""

    def get_operation_id(self) -> str:
        """`…_list` for a collection's GET (never a numbered `…_retrieve_2` beside its item's)."""
        operation_id: str = super().get_operation_id()
        if (
            self.method == "GET"
            and not self.path.rstrip("/").endswith("}")
            and operation_id.endswith("_retrieve")
        ):
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False) -> Any:
        """A text field of a request that may not be blank says so for a value of only spaces (DRF
        trims it to blank) and a NUL character (DRF refuses it); COMPONENT_SPLIT_REQUEST keeps
        request components apart from the answers'. A field that may be blank is left as drf-spectacular
        declares it (`oneOf` the text or ""): a pattern there would make "" match both branches."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and not field.allow_blank
            and field.trim_whitespace
            and schema.get("type") == "string"
            and not {"pattern", "format", "enum"} & schema.keys()
        ):
            schema["pattern"] = r"^[^\x00]*\S[^\x00]*$"
        return schema

    def operation_error_codes(self) -> list[str]:
        view_method = getattr(self.view, self.method.lower(), None)
        declared = list(getattr(view_method, "error_codes", ()))
        public = any(isinstance(p, AllowAny) for p in self.view.get_permissions())
        codes: list[str] = []
        if not public:
            codes += [*AUTH_CODES, *FORBIDDEN_CODES]
            if self.method in UNSAFE:
                codes.append("csrf_failed")
        if self.method in UNSAFE and self.method != "DELETE":
            codes += BODY_CODES
        elif self._has_query_parameters():
            codes.append("invalid")
        if "{" in self.path:
            codes.append("not_found")
        return list(dict.fromkeys(codes + declared))

    def _has_query_parameters(self) -> bool:
        return any(p.get("in") == "query" for p in self._get_parameters())

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        # The error answers are this method's alone: declared by `@errors`, not by `responses=`.
        responses = {
            status: response
            for status, response in super()._get_response_bodies(direction).items()
            if not status.startswith(("4", "5"))
        }
        by_status: dict[int, list[str]] = {}
        for code in self.operation_error_codes():
            by_status.setdefault(ERRORS[code].status, []).append(code)
        for status, codes in sorted(by_status.items()):
            description = "；".join(f"`{code}`" for code in codes)
            responses[str(status)] = {
                "description": f"错误（code 之一）：{description}",
                "content": {"application/json": {"schema": _error_schema(codes)}},
            }
        return responses


def page_of(
    name: str,
    row: serializers.BaseSerializer,
    *,
    cursor: type[serializers.Field] = serializers.CharField,
    **extra: serializers.Field,
) -> serializers.Serializer:
    """A keyset page's schema: `{"results": [row…], "next_after": cursor or null, **extra}`.
    `row` is the row serializer with `many=True`; `cursor` the type of `next_after`."""
    return inline_serializer(
        name=name,
        fields={
            "results": row,
            "next_after": cursor(
                allow_null=True, help_text="下一页：作为 after 传回（同一排序下）；最后一页为 null"
            ),
            **extra,
        },
    )
