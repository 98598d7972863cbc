"""Reading the outbox: what an application caused to be sent (its page and its API alike), a unit's
messages (通知), and who of a unit receives them."""

from __future__ import annotations

from dataclasses import dataclass

from tongban.accounts.models import User
from tongban.accounts.roles import roles_with
from tongban.core.errors import ServiceError
from tongban.intake.models import Application
from tongban.listing import Page, page_after
from tongban.notifications import texts
from tongban.notifications.models import Message, MessageTemplate
from tongban.registry.access import Viewer


def application_messages(application: Application) -> list[Message]:
    return list(Message.objects.filter(application=application))


def staff_addresses(unit_code: str, template_code: str) -> list[str]:
    """The e-mail addresses of the unit's active staff who do what the message is about."""
    template = texts.TEMPLATES.get(template_code)
    actions = template.staff_actions if template is not None else ()
    roles = {role for action in actions for role in roles_with(action)}
    staff = User.objects.filter(unit__code=unit_code, is_active=True).exclude(email="")
    if roles:
        staff = staff.filter(role__in=roles)
    return sorted(set(staff.values_list("email", flat=True)))


PAGE = 50


def inbox_kinds(viewer: Viewer) -> list[str]:
    """The kinds of a unit's messages the viewer receives (the same rule as staff e-mail)."""
    return sorted(
        {
            template.kind
            for template in texts.TEMPLATES.values()
            if template.audience == texts.UNIT
            and (not template.staff_actions or any(viewer.can(action) for action in template.staff_actions))
        }
    )


def inbox_page(viewer: Viewer, *, after: int | None = None, limit: int = PAGE) -> Page[Message, int]:
    """通知: the messages to the viewer's own unit about its work, newest first, keyset by id."""
    if viewer.unit is None:
        return Page(rows=[], next_after=None)
    messages = Message.objects.filter(unit_code=viewer.unit.code, kind__in=inbox_kinds(viewer))
    messages = messages.select_related("application")
    return page_after(messages, ["-pk"], after, limit=limit)


@dataclass(frozen=True)
class TemplateRow:
    template: texts.Template
    text: str  # as messages are written now
    custom: MessageTemplate | None  # the administrator's text, if any

    @property
    def preview(self) -> str:
        return texts.render(self.text, texts.sample(self.template))


def require_templates(viewer: Viewer) -> None:
    if not viewer.can("notification.template"):
        raise ServiceError("permission_denied", "无权管理通知模板。", status=403)


def templates_list(viewer: Viewer) -> list[TemplateRow]:
    require_templates(viewer)
    custom = {row.code: row for row in MessageTemplate.objects.select_related("updated_by")}
    return [
        TemplateRow(template, custom[code].text if code in custom else template.default, custom.get(code))
        for code, template in texts.TEMPLATES.items()
    ]


def template_get(viewer: Viewer, code: str) -> TemplateRow:
    require_templates(viewer)
    template = texts.TEMPLATES.get(code)
    if template is None:
        raise ServiceError("not_found", "未找到该通知模板。", status=404)
    custom = MessageTemplate.objects.select_related("updated_by").filter(code=code).first()
    return TemplateRow(template, custom.text if custom is not None else template.default, custom)
