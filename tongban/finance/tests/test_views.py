"""The finance officer's pages and exports: who may open them, and that every figure agrees with
sums and counts taken directly from the database."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.core.masking import mask_id_number
from tongban.finance import exports, selectors, services
from tongban.finance.models import Payment, Refund, Remittance, SettlementRate
from tongban.finance.tests.helpers import at, charge, refund, table_rows, xlsx_rows
from tongban.registry.models import Unit
from tongban.testing.factories import station
from tongban.testing.personas import login

pytestmark = pytest.mark.django_db

PAGES = [
    "/finance/",
    "/finance/unremitted/",
    "/finance/remittances/",
    "/finance/settlement/",
    "/finance/settlement/lines/",
]
OTHERS = [
    "nanchang_clerk",
    "nanchang_reviewer",
    "ganzhou_clerk",
    "donghu_supervisor",
    "province_supervisor",
    "centre_operator",
    "civil_affairs",
    "campaign_manager",
    "auditor",
    "admin",
]


def path(code: str) -> str:
    return Unit.objects.get(code=code).path


# ---------------------------------------------------------------------------------------------
# Access


@pytest.mark.parametrize("url", PAGES)
def test_the_finance_officer_opens_every_page(client, personas, takings, url):
    login(client, personas.finance)
    assert client.get(url).status_code == 200


EXPORTS = ["payments", "remittances", "settlement", "settlement_lines"]


@pytest.mark.parametrize("who", OTHERS)
def test_other_roles_get_404(client, personas, takings, who):
    login(client, getattr(personas, who))
    for url in PAGES:
        assert client.get(url).status_code == 404, url
    for name in EXPORTS:
        assert client.post(f"/finance/export/{name}/", {"period": "2026-01"}).status_code == 404, name
    assert not AuditEvent.objects.filter(action="finance.export").exists()


def test_anonymous_is_sent_to_login(client):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "url",
    [
        "/finance/?unit=360702001",
        "/finance/unremitted/?unit=3607",
        "/finance/remittances/?unit=36",
        "/finance/settlement/?unit=3607&period=2026-01",
        "/finance/settlement/?unit=36&period=2026-01",
        "/finance/settlement/lines/?unit=360102&period=2026-01&within=360702",
    ],
)
def test_units_outside_the_subtree_are_404(client, personas, takings, url):
    login(client, personas.finance)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("payments", {"unit": "360702001"}),
        ("remittances", {"unit": "36"}),
        ("settlement", {"unit": "3607", "period": "2026-01"}),
        ("settlement_lines", {"unit": "360102", "period": "2026-01", "within": "360702"}),
        ("nothing", {}),
    ],
)
def test_exports_of_units_outside_the_subtree_are_404(client, personas, takings, name, data):
    login(client, personas.finance)
    assert client.post(f"/finance/export/{name}/", data).status_code == 404
    assert not AuditEvent.objects.filter(action="finance.export").exists()


def test_nav_and_home_card_show_the_unremitted_total(client, personas, takings):
    login(client, personas.finance)
    page = client.get("/").content.decode()
    assert 'href="/finance/"' in page and '<strong id="home-unremitted">100.00</strong>' in page
    login(client, personas.nanchang_clerk)
    page = client.get("/").content.decode()
    assert 'href="/finance/"' not in page and "home-unremitted" not in page


# ---------------------------------------------------------------------------------------------
# 收费明细


def test_payments_list_masks_id_numbers_and_shows_refunds(client, personas, takings, days):
    login(client, personas.finance)
    d1, _d2, today = days
    response = client.get(f"/finance/?start={d1:%Y-%m-%d}&end={today:%Y-%m-%d}")
    page = response.content.decode()
    rows = response.context["page"].rows
    mine = Payment.objects.filter(unit__path__startswith=Unit.objects.get(code="360102").path)
    assert {row.pk for row in rows} == set(mine.values_list("pk", flat=True))
    for payment in mine.select_related("person"):
        assert payment.receipt_number in page
        assert payment.person.id_number not in page
        assert mask_id_number(payment.person.id_number) in page
    assert "360702001" not in page  # Ganzhou's payment stays out
    assert "已退费" in page


def test_totals_per_unit_and_day_agree_with_the_database(client, personas, takings, days):
    login(client, personas.finance)
    d1, _d2, today = days
    response = client.get(f"/finance/?start={d1:%Y-%m-%d}&end={today:%Y-%m-%d}")
    totals = response.context["totals"]
    donghu = Payment.objects.filter(unit__path__startswith=path("360102"))
    assert totals.receipts == donghu.count()
    assert totals.charged == donghu.aggregate(s=Sum("amount"))["s"]
    assert totals.refunded == Refund.objects.filter(payment__in=donghu).aggregate(s=Sum("amount"))["s"]
    for total in totals.days:
        start, end = at(total.day, 0), at(total.day + datetime.timedelta(days=1), 0)
        day = donghu.filter(unit=total.unit, charged_at__gte=start, charged_at__lt=end)
        assert total.receipts == day.count()
        assert total.paid == day.filter(amount__gt=0).count()
        assert total.charged == (day.aggregate(s=Sum("amount"))["s"] or 0)
        refunds = Refund.objects.filter(payment__unit=total.unit, refunded_at__gte=start, refunded_at__lt=end)
        assert total.refunded == (refunds.aggregate(s=Sum("amount"))["s"] or 0)


def test_filters_by_unit_item_and_date(client, personas, takings, days):
    login(client, personas.finance)
    d1, d2, _today = days
    response = client.get(f"/finance/?unit=360102001&item=replacement&start={d1:%Y-%m-%d}&end={d2:%Y-%m-%d}")
    assert [row.item for row in response.context["page"].rows] == ["replacement"]
    response = client.get(f"/finance/?unit=360102002&start={d1:%Y-%m-%d}&end={d1:%Y-%m-%d}")
    assert [row.unit.code for row in response.context["page"].rows] == ["360102002"]
    response = client.get(f"/finance/?start={d2:%Y-%m-%d}&end={d1:%Y-%m-%d}")
    assert "截止日期不能早于起始日期" in response.content.decode()


def test_keyset_pages_cover_every_payment_once(client, personas, days):
    d1, d2, _today = days
    for _ in range(selectors.PAGE + 3):
        charge(personas.nanchang_clerk, "360102001", d1, "20")
    charge(personas.nanchang_clerk, "360102001", d2, "20")
    login(client, personas.finance)
    query = f"start={d1:%Y-%m-%d}&end={d2:%Y-%m-%d}"
    first = client.get(f"/finance/?{query}").context["page"]
    assert len(first.rows) == selectors.PAGE and first.next_after
    second = client.get(f"/finance/?{query}&after={first.next_after}").context["page"]
    assert second.next_after is None and len(second.rows) == 4
    seen = [row.pk for row in first.rows + second.rows]
    assert len(set(seen)) == len(seen) == Payment.objects.count()
    assert first.rows[0].charged_at.date() == d2  # newest first


def test_the_payments_list_costs_the_same_for_more_rows(
    client, personas, days, django_assert_max_num_queries
):
    d1, _d2, today = days
    for _ in range(5):
        refund(personas.nanchang_clerk, charge(personas.nanchang_clerk, "360102001", d1, "20"), d1)
    login(client, personas.finance)
    url = f"/finance/?start={d1:%Y-%m-%d}&end={today:%Y-%m-%d}"
    client.get(url)
    with django_assert_max_num_queries(12):
        client.get(url)
    for code in ("360102001", "360102002"):
        for _ in range(20):
            charge(personas.nanchang_clerk, code, d1, "40")
    with django_assert_max_num_queries(12):
        assert len(client.get(url).context["page"].rows) == 45


def test_the_payments_export_holds_the_pages_rows(client, personas, takings, days):
    login(client, personas.finance)
    d1, _d2, today = days
    url = f"/finance/?start={d1:%Y-%m-%d}&end={today:%Y-%m-%d}"
    shown = client.get(url)
    page = shown.context
    assert 'action="/finance/export/payments/"' in shown.content.decode()
    # The button posts the filters the page shows; so few rows come back at once.
    response = client.post("/finance/export/payments/", page["export"])
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    rows = table_rows(xlsx_rows(response, "收费明细"), exports.PAYMENT_HEADERS)
    assert [row[1] for row in rows] == [payment.receipt_number for payment in page["page"].rows]
    assert all("*" in row[4] for row in rows)
    expected = [exports.payment_row(payment) for payment in page["page"].rows]
    assert [[row[1], row[8], row[10]] for row in rows] == [[e[1], e[8], e[10]] for e in expected]
    days_sheet = table_rows(xlsx_rows(response, "按单位按日汇总"), exports.DAY_HEADERS)
    assert len(days_sheet) == len(page["totals"].days) + 1
    assert days_sheet[-1][0] == "合计" and Decimal(str(days_sheet[-1][8])) == page["totals"].net
    assert AuditEvent.objects.filter(action="finance.export", actor_id=personas.finance.pk).exists()


# ---------------------------------------------------------------------------------------------
# 票据 PDF


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("finance", 200),
        ("nanchang_clerk", 200),  # the station that charged it: prints the receipt again
        ("nanchang_reviewer", 404),
        ("ganzhou_clerk", 404),
        ("donghu_supervisor", 404),
        ("auditor", 404),
    ],
)
def test_receipt_pdf_access_is_audited(client, personas, takings, who, status):
    user = getattr(personas, who)
    login(client, user)
    response = client.get(f"/finance/receipts/{takings.receipt_number}/")
    assert response.status_code == status
    printed = AuditEvent.objects.filter(action="fee.receipt_printed", actor_id=user.pk)
    if status == 200:
        assert response.content.startswith(b"%PDF")
        assert printed.get().object_id == str(takings.pk)
    else:
        assert not printed.exists()


def test_a_finance_officer_cannot_print_another_countys_receipt(client, personas, takings):
    ganzhou = Payment.objects.get(unit__code="360702001")
    login(client, personas.finance)
    assert client.get(f"/finance/receipts/{ganzhou.receipt_number}/").status_code == 404


# ---------------------------------------------------------------------------------------------
# 待缴库 and 缴库登记


def expected_unremitted(root_path: str) -> Decimal:
    """Straight from the tables: money taken before today, less refunds before today, less what
    was paid over (no day of the fixtures gives back more than it took)."""
    start = at(timezone.localdate(), 0)
    taken = Payment.objects.filter(unit__path__startswith=root_path, amount__gt=0, charged_at__lt=start)
    given = Refund.objects.filter(payment__unit__path__startswith=root_path, refunded_at__lt=start)
    paid = Remittance.objects.filter(unit__path__startswith=root_path)
    return sum(
        (qs.aggregate(s=Sum("amount"))["s"] or Decimal(0)) * sign
        for qs, sign in ((taken, 1), (given, -1), (paid, -1))
    ) + Decimal(0)


def test_unremitted_amounts_agree_with_the_database(client, personas, takings, days):
    login(client, personas.finance)
    response = client.get("/finance/unremitted/")
    result = response.context["result"]
    assert result.amount == expected_unremitted(path("360102")) == Decimal("100")
    assert result.charged - result.refunded == result.amount
    assert f'<p class="figure" id="unremitted-total">{result.amount}</p>' in response.content.decode()
    one = client.get("/finance/unremitted/?unit=360102002").context["result"]
    assert one.amount == expected_unremitted(path("360102002")) == Decimal("20")


def test_recording_a_remittance_from_the_form(client, personas, takings, days):
    d1, _d2, _today = days
    login(client, personas.finance)
    response = client.post(
        "/finance/unremitted/",
        {"unit": "360102001", "day": f"{d1:%Y-%m-%d}", "treasury_reference": "缴2026-7"},
    )
    assert response.status_code == 302
    remittance = Remittance.objects.get()
    assert (remittance.unit.code, remittance.day, remittance.amount) == ("360102001", d1, Decimal("60"))
    after = client.get("/finance/unremitted/").context["result"]
    assert after.amount == expected_unremitted(path("360102")) == Decimal("40")
    history = client.get("/finance/remittances/")
    assert "缴2026-7" in history.content.decode()
    sheet = table_rows(
        xlsx_rows(client.post("/finance/export/remittances/", {"unit": "360102"}), "缴库记录"),
        exports.REMITTANCE_HEADERS,
    )
    assert [[row[2], row[3], row[6]] for row in sheet] == [["360102001", 60, "缴2026-7"]]


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("duplicate", "day", "已登记缴库"),
        ("today", "day", "只能登记今日以前"),
        ("outside", "unit", "不在您的辖区"),
        ("nothing", "day", "无应缴款项"),
        ("blank", "treasury_reference", "必填"),
    ],
)
def test_remittance_form_errors_change_nothing(client, personas, takings, days, case, field, message):
    d1, _d2, today = days
    services.remittance_record(
        actor=personas.finance, unit=station("360102002"), day=d1, treasury_reference="X"
    )
    data = {"unit": "360102001", "day": f"{d1:%Y-%m-%d}", "treasury_reference": "缴2026-8"}
    if case == "duplicate":
        data["unit"] = "360102002"
    elif case == "today":
        data["day"] = f"{today:%Y-%m-%d}"
    elif case == "outside":
        data["unit"] = "360702001"
    elif case == "nothing":
        data["day"] = f"{d1 - datetime.timedelta(days=5):%Y-%m-%d}"  # nothing taken that day
    elif case == "blank":
        data["treasury_reference"] = ""
    before = list(Remittance.objects.values_list("pk", flat=True))
    events = AuditEvent.objects.count()
    login(client, personas.finance)
    response = client.post("/finance/unremitted/", data)
    assert response.status_code == 400
    page = response.content.decode()
    error = page.split(f'id="error-{field}">', 1)[1].split("</span>", 1)[0]
    assert message in error
    assert list(Remittance.objects.values_list("pk", flat=True)) == before
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("who", ["nanchang_clerk", "donghu_supervisor", "admin"])
def test_only_finance_officers_post_remittances(client, personas, takings, days, who):
    d1, _d2, _today = days
    login(client, getattr(personas, who))
    response = client.post(
        "/finance/unremitted/", {"unit": "360102001", "day": f"{d1:%Y-%m-%d}", "treasury_reference": "Z"}
    )
    assert response.status_code == 404 and not Remittance.objects.exists()


def test_the_unremitted_export_holds_the_pages_rows(client, personas, takings):
    login(client, personas.finance)
    result = client.get("/finance/unremitted/").context["result"]
    rows = table_rows(
        xlsx_rows(client.get("/finance/unremitted/?export=xlsx"), "待缴库"), exports.UNREMITTED_HEADERS
    )
    assert [[row[2], Decimal(str(row[7]))] for row in rows[:-1]] == [
        [r.unit.code, r.amount] for r in result.rows
    ]
    assert Decimal(str(rows[-1][7])) == result.amount


# ---------------------------------------------------------------------------------------------
# 免费首证结算


def orm_settlement(
    path: str, start: datetime.date, end: datetime.date
) -> tuple[int, Decimal, Decimal, Decimal]:
    """Count and amounts straight from the tables: each card at the rate whose date is the latest
    not after its charge day."""
    cards = Payment.objects.filter(
        item="first",
        voided_at=None,
        unit__path__startswith=path,
        charged_at__gte=at(start, 0),
        charged_at__lt=at(end + datetime.timedelta(days=1), 0),
    )
    amount = central = provincial = Decimal(0)
    for payment in cards:
        day = timezone.localdate(payment.charged_at)
        rate = SettlementRate.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
        assert rate is not None
        amount += rate.amount
        central += rate.central
        provincial += rate.provincial
    return cards.count(), amount, central, provincial


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("2025-02", datetime.date(2025, 2, 1), datetime.date(2025, 2, 28)),
        ("2025-03", datetime.date(2025, 3, 1), datetime.date(2025, 3, 31)),
        ("2025Q1", datetime.date(2025, 1, 1), datetime.date(2025, 3, 31)),
    ],
)
def test_settlement_figures_agree_with_the_database(client, personas, first_cards, period, start, end):
    personas.finance.unit = Unit.objects.get(code="3601")  # a city finance officer
    personas.finance.save()
    login(client, personas.finance)
    response = client.get(f"/finance/settlement/?unit=3601&period={period}")
    result = response.context["result"]
    figures = {figure.unit.code: figure for figure in result.cities + result.counties}
    for code, subtree in [("3601", path("3601")), ("360102", path("360102")), ("360103", path("360103"))]:
        count, amount, central, provincial = orm_settlement(subtree, start, end)
        figure = figures.get(code)
        got = (figure.count, figure.amount, figure.central, figure.provincial) if figure else (0, 0, 0, 0)
        assert got == (count, amount, central, provincial), code
    assert "3607" not in figures
    total = orm_settlement(path("3601"), start, end)
    assert (result.total.count, result.total.amount) == total[:2]
    assert f'id="settlement-total">{result.total.amount}<' in response.content.decode()
    if period == "2025Q1":
        assert result.total.amount == Decimal(17 * 4 + 20 * 2) and len(response.context["rates_used"]) == 2


def test_the_lines_behind_a_figure_are_masked(client, personas, first_cards):
    login(client, personas.finance)
    response = client.get("/finance/settlement/lines/?unit=360102&period=2025Q1&within=360102002")
    lines = response.context["lines"]
    expected = Payment.objects.filter(
        item="first", voided_at=None, unit__code="360102002", charged_at__lt=at(datetime.date(2025, 4, 1), 0)
    ).select_related("person")
    assert sorted(line.application_number for line in lines) == sorted(p.application_number for p in expected)
    page = response.content.decode()
    for payment in expected:
        assert payment.person.id_number not in page and mask_id_number(payment.person.id_number) in page


def test_the_settlement_export_has_figures_and_lines(client, personas, first_cards):
    login(client, personas.finance)
    url = "/finance/settlement/?unit=360102&period=2025Q1"
    result = client.get(url).context["result"]
    response = client.post("/finance/export/settlement/", {"unit": "360102", "period": "2025Q1"})
    figures = table_rows(xlsx_rows(response, "结算汇总"), exports.FIGURE_HEADERS)
    assert [[row[2], row[3], Decimal(str(row[4]))] for row in figures] == [
        [row[2], row[3], row[4]] for row in exports.figure_rows(result)
    ]
    assert figures[-1][0] == "合计" and figures[-1][3] == result.total.count == 5
    lines = table_rows(xlsx_rows(response, "结算明细"), exports.LINE_HEADERS)
    assert [row[1] for row in lines] == [line.application_number for line in result.total.lines]
    assert all("*" in row[4] for row in lines)


def test_every_figure_of_a_county_settlement_opens_its_lines(client, personas, first_cards):
    # The city row above a county's settlement links to the county's own lines, not to the city
    # (outside the county officer's reach: a link that answered 404).
    login(client, personas.finance)
    page = client.get("/finance/settlement/?unit=360102&period=2025Q1").content.decode()
    links = re.findall(r'href="(/finance/settlement/lines/\?[^"]+)"', page)
    assert len(links) >= 3
    for link in links:
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link


def test_a_bad_period_falls_back_with_an_error(client, personas, first_cards):
    login(client, personas.finance)
    response = client.get("/finance/settlement/?unit=360102&period=2025Q7")
    assert response.status_code == 200 and "结算期间应为月份" in response.content.decode()


def test_the_rate_admin_shows_effective_dates(client, personas):
    login(client, personas.admin)
    page = client.get("/admin/finance/settlementrate/").content.decode()
    assert "2018" in page and "起始日期" in page
    response = client.post(
        "/admin/finance/settlementrate/add/",
        {"effective_from": "2030-01-01", "amount": "18", "central": "13", "provincial": "5"},
    )
    assert response.status_code == 302
    assert services.rules.rate_on(
        [
            services.rules.Rate(r.effective_from, r.amount, r.central, r.provincial)
            for r in SettlementRate.objects.all()
        ],
        datetime.date(2030, 6, 1),
    ).amount == Decimal(18)
