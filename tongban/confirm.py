"""Confirmation before destructive or outward actions (放弃本次受理, 撤销, 不予签发, 发出, 转发 …).

One pattern for every page, with and without JavaScript:

- The button that triggers the action carries the question:
  `<button type="submit" data-confirm="撤销后不可恢复。确定撤销该申领？" data-confirm-ok="撤销">撤销</button>`
  (`data-confirm-title` optional: the dialog's heading, the button's text by default).
- With JavaScript, `static/tongban/confirm.js` asks in the page's one `<dialog>`
  (`templates/confirm/_dialog.html`, included by base.html); 确定 posts the form through the same
  button with `confirmed=1`, 取消 or Esc leave the page as it was.
- Without JavaScript the form posts without `confirmed`; the view answers with `ask(...)`, a page
  that puts the same question and posts the same fields again with `confirmed=1` (取消 goes back).

The view acts only on a confirmed POST:

    if not confirm.confirmed(request):
        return confirm.ask(request, title="撤销申领", question="…", confirm_label="撤销", cancel_url=…)

API clients are never asked: an API call is its own confirmation.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

FIELD = "confirmed"
_NOT_REPEATED = frozenset({FIELD, "csrfmiddlewaretoken"})


def confirmed(request: HttpRequest) -> bool:
    """Whether this POST carries the user's confirmation."""
    return request.POST.get(FIELD) == "1"


def ask(
    request: HttpRequest,
    *,
    title: str,
    question: str,
    confirm_label: str,
    cancel_url: str,
    details: list[tuple[str, str]] | None = None,
) -> HttpResponse:
    """The confirmation step for a browser without JavaScript: the question, what the action
    concerns (`details`: label and value pairs), and a form that posts the same fields to the
    same address with `confirmed=1`. Uploaded files are not posted again (no confirmed action
    takes one)."""
    fields = [
        (key, value)
        for key in request.POST
        if key not in _NOT_REPEATED
        for value in request.POST.getlist(key)
    ]
    context = {
        "title": title,
        "question": question,
        "confirm_label": confirm_label,
        "cancel_url": cancel_url,
        "details": details or [],
        "fields": fields,
        "action": request.get_full_path(),
    }
    return render(request, "confirm/page.html", context)
