"""Navigation flags for the page chrome, from the same role table the views enforce."""

from __future__ import annotations

from django.http import HttpRequest

from tongban.jobs.kinds import may_use_jobs


def navigation(request: HttpRequest) -> dict[str, dict[str, bool]]:
    can = getattr(request.user, "can", None)
    # An account that must set its password first (首次登录) reaches nothing else: no links.
    if can is None or getattr(request.user, "must_set_password", False):
        return {"nav": {}}
    return {
        "nav": {
            "lookup": can("person.lookup") or can("person.view"),
            "browse": can("person.browse"),
            "units": can("unit.view"),
            "audit": can("audit.view"),
            "counter": can("application.accept"),
            "applications": can("application.view"),
            "review": can("review.decide"),
            "production": can("production.view"),
            "shipments": can("shipment.view") or can("shipment.create"),
            "handover": can("handover.perform") or can("verification.perform"),
            "temporary": can("temporary.view"),
            "temporary_issue": can("temporary.issue"),
            "campaigns": can("campaign.view"),
            "finance": can("finance.view"),
            "cardloss": can("cardloss.view"),
            "liaisons": can("unit.view"),
            "supervision": can("supervision.view"),
            "appointments": can("appointment.view"),
            "dataquality": can("dataquality.view"),
            "users": can("user.manage"),
            "jobs": may_use_jobs(can),
            "templates": can("notification.template"),
            # The exchange is the provincial department's (tongban/exchange/models.py).
            "exchange": can("exchange.view")
            and getattr(getattr(request.user, "unit", None), "kind", "") == "province",
            # So are the relying parties of 居民身份证核查 (tongban/cardcheck/models.py).
            "cardcheck": can("cardcheck.view")
            and getattr(getattr(request.user, "unit", None), "kind", "") == "province",
        }
    }
