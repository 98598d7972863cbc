from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tongban import views
from tongban.accounts import api as accounts_api
from tongban.accounts.api import TokenView
from tongban.appointments import api as appointments_api
from tongban.campaigns import api as campaigns_api
from tongban.cardcheck import api as cardcheck_api
from tongban.cardloss import api as cardloss_api
from tongban.dataquality import api as dataquality_api
from tongban.ecert import api as ecert_api
from tongban.exchange import api as exchange_api
from tongban.finance import api as finance_api
from tongban.handover import api as handover_api
from tongban.intake import api as intake_api
from tongban.jobs import api as jobs_api
from tongban.liaison.api import LiaisonsView, UnitLiaisonsView
from tongban.notifications import api as notifications_api
from tongban.portal.progress import api as progress_api
from tongban.production import api as production_api
from tongban.registry import api as registry_api
from tongban.review import api as review_api
from tongban.supervision import api as supervision_api
from tongban.temporary import api as temporary_api

# The admin (系统管理) under the system's own name; every model and field in it is Chinese
# (tests/test_admin_chinese.py).
admin.site.site_header = "通办 · 系统管理"
admin.site.site_title = "通办系统管理"
admin.site.index_title = "系统管理"

api_v1 = [
    path("auth/token", TokenView.as_view(), name="token"),
    path("people", registry_api.PeopleView.as_view(), name="people"),
    path("people/lookup", registry_api.PersonLookupView.as_view(), name="person_lookup"),
    path("people/guests", registry_api.GuestsView.as_view(), name="person_guests"),
    path("people/<int:pk>", registry_api.PersonDetailView.as_view(), name="person_detail"),
    path("units", registry_api.UnitsView.as_view(), name="units"),
    path("units/<str:code>", registry_api.UnitDetailView.as_view(), name="unit_detail"),
    path("idnumbers/check", registry_api.IdNumberCheckView.as_view(), name="idnumber_check"),
    path("applications", intake_api.ApplicationsView.as_view(), name="applications"),
    path(
        "applications/drafts/<int:pk>/abandon", intake_api.AbandonView.as_view(), name="application_abandon"
    ),
    path("applications/<str:number>", review_api.ApplicationDetailView.as_view(), name="application_detail"),
    path(
        "applications/<str:number>/withdraw", intake_api.WithdrawView.as_view(), name="application_withdraw"
    ),
    path(
        "applications/<str:number>/refusal-notified",
        intake_api.RefusalNotifiedView.as_view(),
        name="application_refusal_notified",
    ),
    path(
        "applications/<str:number>/photo", intake_api.PhotoRecollectView.as_view(), name="application_photo"
    ),
    path(
        "applications/<str:number>/documents/<str:kind>",
        intake_api.DocumentView.as_view(),
        name="application_document",
    ),
    path("applications/<str:number>/review/take", review_api.TakeView.as_view(), name="review_take"),
    path("applications/<str:number>/review/release", review_api.ReleaseView.as_view(), name="review_release"),
    path("applications/<str:number>/review/decide", review_api.DecideView.as_view(), name="review_decide"),
    path("review/queue", review_api.QueueView.as_view(), name="review_queue"),
    path("production/queue", production_api.QueueView.as_view(), name="production_queue"),
    path("production/batches", production_api.BatchesView.as_view(), name="production_batches"),
    path("production/batches/<int:pk>", production_api.BatchDetailView.as_view(), name="production_batch"),
    path(
        "production/batches/<int:pk>/package", production_api.PackageView.as_view(), name="production_package"
    ),
    path("production/feedback", production_api.FeedbackView.as_view(), name="production_feedback"),
    path("shipments", handover_api.ShipmentsView.as_view(), name="shipments"),
    path("shipments/forward", handover_api.ForwardView.as_view(), name="shipments_forward"),
    path("shipments/postal/delivered", handover_api.DeliveredView.as_view(), name="postal_delivered"),
    path("shipments/<int:pk>", handover_api.ShipmentDetailView.as_view(), name="shipment_detail"),
    path("shipments/<int:pk>/receive", handover_api.ReceiveView.as_view(), name="shipment_receive"),
    path("handover/ready", handover_api.ReadyView.as_view(), name="handover_ready"),
    path("applications/<str:number>/handover", handover_api.HandoverView.as_view(), name="handover"),
    path("applications/<str:number>/verification", handover_api.VerifyView.as_view(), name="verification"),
    path("verifications", handover_api.VerificationsView.as_view(), name="verifications"),
    path("supervision/dashboard", supervision_api.DashboardView.as_view(), name="supervision_dashboard"),
    path("supervision/out-of-area", supervision_api.OutOfAreaView.as_view(), name="supervision_out_of_area"),
    path("supervision/stuck", supervision_api.StuckView.as_view(), name="supervision_stuck"),
    path("supervision/unstaffed", supervision_api.UnstaffedView.as_view(), name="supervision_unstaffed"),
    path("supervision/stuck/<str:number>/urge", supervision_api.UrgeView.as_view(), name="supervision_urge"),
    path("users", accounts_api.UsersView.as_view(), name="users"),
    path("users/<str:username>", accounts_api.UserDetailView.as_view(), name="user_detail"),
    path(
        "users/<str:username>/deactivate", accounts_api.UserDeactivateView.as_view(), name="user_deactivate"
    ),
    path(
        "users/<str:username>/reactivate", accounts_api.UserReactivateView.as_view(), name="user_reactivate"
    ),
    path(
        "users/<str:username>/reset-second-factor",
        accounts_api.UserResetSecondFactorView.as_view(),
        name="user_reset_second_factor",
    ),
    path(
        "users/<str:username>/reset-password",
        accounts_api.UserResetPasswordView.as_view(),
        name="user_reset_password",
    ),
    path("liaisons", LiaisonsView.as_view(), name="liaisons"),
    path("liaisons/<str:code>", UnitLiaisonsView.as_view(), name="unit_liaisons"),
    path("cardloss/reports", cardloss_api.ReportsView.as_view(), name="cardloss_reports"),
    path("cardloss/reports/<int:pk>", cardloss_api.ReportDetailView.as_view(), name="cardloss_report"),
    path(
        "cardloss/reports/<int:pk>/restore",
        cardloss_api.ReportRestoreView.as_view(),
        name="cardloss_report_restore",
    ),
    path("cardloss/found", cardloss_api.FoundListView.as_view(), name="cardloss_found_list"),
    path("cardloss/found/<int:pk>", cardloss_api.FoundDetailView.as_view(), name="cardloss_found"),
    path(
        "cardloss/found/<int:pk>/collect",
        cardloss_api.FoundCollectView.as_view(),
        name="cardloss_found_collect",
    ),
    path(
        "cardloss/found/<int:pk>/destroy",
        cardloss_api.FoundDestroyView.as_view(),
        name="cardloss_found_destroy",
    ),
    path("finance/payments", finance_api.PaymentsView.as_view(), name="finance_payments"),
    path("finance/payments/export", finance_api.PaymentsExportView.as_view(), name="finance_payments_export"),
    path("finance/unremitted", finance_api.UnremittedView.as_view(), name="finance_unremitted"),
    path("finance/remittances", finance_api.RemittancesView.as_view(), name="finance_remittances"),
    path(
        "finance/remittances/export",
        finance_api.RemittancesExportView.as_view(),
        name="finance_remittances_export",
    ),
    path("finance/settlement", finance_api.SettlementView.as_view(), name="finance_settlement"),
    path(
        "finance/settlement/export",
        finance_api.SettlementExportView.as_view(),
        name="finance_settlement_export",
    ),
    path(
        "finance/settlement/lines", finance_api.SettlementLinesView.as_view(), name="finance_settlement_lines"
    ),
    path(
        "finance/settlement/lines/export",
        finance_api.SettlementLinesExportView.as_view(),
        name="finance_settlement_lines_export",
    ),
    path("finance/receipts/<str:receipt_number>", finance_api.ReceiptView.as_view(), name="finance_receipt"),
    path("campaigns", campaigns_api.CampaignsView.as_view(), name="campaigns"),
    path("campaigns/<int:pk>", campaigns_api.CampaignDetailView.as_view(), name="campaign_detail"),
    path("campaigns/<int:pk>/start", campaigns_api.CampaignStartView.as_view(), name="campaign_start"),
    path("campaigns/<int:pk>/close", campaigns_api.CampaignCloseView.as_view(), name="campaign_close"),
    path("campaigns/<int:pk>/targets", campaigns_api.TargetsView.as_view(), name="campaign_targets"),
    path("campaigns/<int:pk>/progress", campaigns_api.ProgressView.as_view(), name="campaign_progress"),
    path("campaigns/<int:pk>/duties", campaigns_api.DutiesView.as_view(), name="campaign_duties"),
    path(
        "campaigns/<int:pk>/duties/<int:task_pk>",
        campaigns_api.DutyDetailView.as_view(),
        name="campaign_duty",
    ),
    path(
        "campaigns/<int:pk>/duties/<int:task_pk>/notes",
        campaigns_api.DutyNotesView.as_view(),
        name="campaign_duty_notes",
    ),
    path(
        "campaigns/<int:pk>/configuration",
        campaigns_api.ConfigurationView.as_view(),
        name="campaign_configuration",
    ),
    path(
        "campaigns/<int:pk>/configuration/apply",
        campaigns_api.ConfigurationApplyView.as_view(),
        name="campaign_configuration_apply",
    ),
    path("campaigns/<int:pk>/reports", campaigns_api.ReportsView.as_view(), name="campaign_reports"),
    path("campaigns/<int:pk>/summary", campaigns_api.SummaryView.as_view(), name="campaign_summary"),
    path(
        "campaigns/<int:pk>/reports/<int:report_pk>/sign",
        campaigns_api.ReportSignView.as_view(),
        name="campaign_report_sign",
    ),
    path("dataquality/cases", dataquality_api.CasesView.as_view(), name="dataquality_cases"),
    path("dataquality/cases/<int:pk>", dataquality_api.CaseDetailView.as_view(), name="dataquality_case"),
    path(
        "dataquality/cases/<int:pk>/decide",
        dataquality_api.CaseDecideView.as_view(),
        name="dataquality_case_decide",
    ),
    path("dataquality/changes", dataquality_api.ChangesView.as_view(), name="dataquality_changes"),
    path(
        "dataquality/changes/<int:pk>", dataquality_api.ChangeDetailView.as_view(), name="dataquality_change"
    ),
    path(
        "dataquality/changes/<int:pk>/decide",
        dataquality_api.ChangeDecideView.as_view(),
        name="dataquality_change_decide",
    ),
    path("dataquality/runs", dataquality_api.RunsView.as_view(), name="dataquality_runs"),
    path("dataquality/addresses", dataquality_api.AddressesView.as_view(), name="dataquality_addresses"),
    path(
        "dataquality/addresses/<int:pk>/decide",
        dataquality_api.AddressDecideView.as_view(),
        name="dataquality_address_decide",
    ),
    path("temporary-cards", temporary_api.TemporaryCardsView.as_view(), name="temporary_cards"),
    path("temporary-cards/queue", temporary_api.IssueQueueView.as_view(), name="temporary_queue"),
    path("temporary-cards/unreturned", temporary_api.UnreturnedView.as_view(), name="temporary_unreturned"),
    path("temporary-cards/<int:pk>", temporary_api.TemporaryCardDetailView.as_view(), name="temporary_card"),
    path("temporary-cards/<int:pk>/issue", temporary_api.IssueView.as_view(), name="temporary_issue"),
    path("temporary-cards/<int:pk>/refuse", temporary_api.RefuseView.as_view(), name="temporary_refuse"),
    path("temporary-cards/<int:pk>/print", temporary_api.PrintView.as_view(), name="temporary_print"),
    path("temporary-cards/<int:pk>/hand-out", temporary_api.HandOutView.as_view(), name="temporary_hand_out"),
    path("temporary-cards/<int:pk>/return", temporary_api.ReturnView.as_view(), name="temporary_return"),
    path("temporary-cards/<int:pk>/void", temporary_api.VoidView.as_view(), name="temporary_void"),
    path("jobs", jobs_api.JobsView.as_view(), name="jobs"),
    path("jobs/<int:pk>", jobs_api.JobDetailView.as_view(), name="job"),
    path("jobs/<int:pk>/cancel", jobs_api.JobCancelView.as_view(), name="job_cancel"),
    path("jobs/<int:pk>/retry", jobs_api.JobRetryView.as_view(), name="job_retry"),
    path("jobs/<int:pk>/result", jobs_api.JobResultView.as_view(), name="job_result"),
    # The public doors (issue 18): no login, limited per address and record, audited.
    path("public/progress", progress_api.ProgressView.as_view(), name="public_progress"),
    path("exchange/messages", exchange_api.messages_view, name="exchange_messages"),
    path("exchange/outbound", exchange_api.OutboundView.as_view(), name="exchange_outbound"),
    path(
        "exchange/outbound/<int:pk>/retry",
        exchange_api.OutboundRetryView.as_view(),
        name="exchange_outbound_retry",
    ),
    path("exchange/inbound", exchange_api.InboundView.as_view(), name="exchange_inbound"),
    path("exchange/peers", exchange_api.PeersView.as_view(), name="exchange_peers"),
    path("exchange/peers/<int:pk>", exchange_api.PeerView.as_view(), name="exchange_peer"),
    path("exchange/peers/<int:pk>/ping", exchange_api.PeerPingView.as_view(), name="exchange_peer_ping"),
    path("card-checks", cardcheck_api.card_checks_view, name="card_checks"),
    path("cardcheck/institutions", cardcheck_api.InstitutionsView.as_view(), name="cardcheck_institutions"),
    path(
        "cardcheck/institutions/<int:pk>",
        cardcheck_api.InstitutionView.as_view(),
        name="cardcheck_institution",
    ),
    path(
        "cardcheck/institutions/<int:pk>/key",
        cardcheck_api.InstitutionKeyView.as_view(),
        name="cardcheck_institution_key",
    ),
    path(
        "cardcheck/institutions/<int:pk>/suspend",
        cardcheck_api.InstitutionSuspendView.as_view(),
        name="cardcheck_institution_suspend",
    ),
    path(
        "cardcheck/institutions/<int:pk>/resume",
        cardcheck_api.InstitutionResumeView.as_view(),
        name="cardcheck_institution_resume",
    ),
    path(
        "cardcheck/institutions/<int:pk>/counts",
        cardcheck_api.InstitutionCountsView.as_view(),
        name="cardcheck_institution_counts",
    ),
    path("public/ecert/verify", ecert_api.VerifyView.as_view(), name="ecert_verify"),
    path("public/ecert/keys", ecert_api.KeysView.as_view(), name="ecert_keys"),
    path("public/ecert/holder", ecert_api.HolderView.as_view(), name="ecert_holder"),
    path(
        "ecert/certificates/<str:certificate>", ecert_api.CertificateView.as_view(), name="ecert_certificate"
    ),
    path(
        "ecert/certificates/<str:certificate>/code",
        ecert_api.CertificateCodeView.as_view(),
        name="ecert_certificate_code",
    ),
    path(
        "public/appointments/stations",
        appointments_api.PublicStationsView.as_view(),
        name="public_appointment_stations",
    ),
    path(
        "public/appointments/stations/<str:code>/slots",
        appointments_api.PublicSlotsView.as_view(),
        name="public_appointment_slots",
    ),
    path("public/appointments", appointments_api.PublicBookView.as_view(), name="public_appointments"),
    path(
        "public/appointments/lookup",
        appointments_api.PublicLookupView.as_view(),
        name="public_appointment_lookup",
    ),
    path(
        "public/appointments/cancel",
        appointments_api.PublicCancelView.as_view(),
        name="public_appointment_cancel",
    ),
    path(
        "public/appointments/rebook",
        appointments_api.PublicRebookView.as_view(),
        name="public_appointment_rebook",
    ),
    path("appointments", appointments_api.BookingsView.as_view(), name="appointments"),
    path(
        "appointments/stations/<str:code>/schedule",
        appointments_api.ScheduleView.as_view(),
        name="appointment_schedule",
    ),
    path(
        "appointments/stations/<str:code>/overrides",
        appointments_api.OverrideView.as_view(),
        name="appointment_overrides",
    ),
    path("appointments/<str:code>", appointments_api.BookingDetailView.as_view(), name="appointment_detail"),
    path("appointments/<str:code>/open", appointments_api.BookingOpenView.as_view(), name="appointment_open"),
    path("notifications", notifications_api.InboxView.as_view(), name="notifications"),
    path("notification-templates", notifications_api.TemplatesView.as_view(), name="notification_templates"),
    path(
        "notification-templates/<str:code>",
        notifications_api.TemplateView.as_view(),
        name="notification_template",
    ),
    path(
        "notification-templates/<str:code>/reset",
        notifications_api.TemplateResetView.as_view(),
        name="notification_template_reset",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("tongban.accounts.urls")),
    path("", include("tongban.registry.urls")),
    path("audit/", include("tongban.audit.urls")),
    path("guide/ecert/", include("tongban.ecert.public_urls")),
    path("guide/appointments/", include("tongban.appointments.public_urls")),
    path("guide/", include("tongban.portal.urls")),
    path("appointments/", include("tongban.appointments.urls")),
    path("applications/", include("tongban.intake.urls")),
    path("review/", include("tongban.review.urls")),
    path("production/", include("tongban.production.urls")),
    path("handover/", include("tongban.handover.urls")),
    path("temporary/", include("tongban.temporary.urls")),
    path("campaigns/", include("tongban.campaigns.urls")),
    path("supervision/", include("tongban.supervision.urls")),
    path("dataquality/", include("tongban.dataquality.urls")),
    path("finance/", include("tongban.finance.urls")),
    path("cardloss/", include("tongban.cardloss.urls")),
    path("jobs/", include("tongban.jobs.urls")),
    path("notifications/", include("tongban.notifications.urls")),
    path("liaisons/", include("tongban.liaison.urls")),
    path("exchange/", include("tongban.exchange.urls")),
    path("cardcheck/", include("tongban.cardcheck.urls")),
    path("ecert/", include("tongban.ecert.urls")),
    # The admin signs in through the same audited login (and second factor) as everyone else.
    path("admin/login/", RedirectView.as_view(pattern_name="accounts:login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api_docs"),
]

# Chinese pages for browsers and the API's error shape under /api/, in every mode (tongban/errors.py).
handler400 = "tongban.errors.bad_request"
handler403 = "tongban.errors.permission_denied"
handler404 = "tongban.errors.page_not_found"
handler500 = "tongban.errors.server_error"

if not settings.PRODUCTION:
    # `make run` and development servers run with DEBUG off, when Django's runserver serves no
    # static files: they come from the finders here. In production nginx serves the collected
    # files (deploy/nginx.conf).
    urlpatterns += [re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True})]
