from django.urls import path

from tongban.campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/progress.xlsx", views.progress_xlsx, name="progress_xlsx"),
    path("<int:pk>/do/<str:action>/", views.campaign_action, name="action"),
    path("<int:pk>/duties/", views.duty_matrix, name="duties"),
    path("<int:pk>/duties/<int:task_pk>/", views.duty_detail, name="duty"),
    path("<int:pk>/reports/", views.reports, name="reports"),
    path("<int:pk>/reports/<int:report_pk>/sign/", views.report_sign, name="report_sign"),
    path("<int:pk>/configuration/", views.configuration, name="configuration"),
    path("<int:pk>/summary/", views.summary, name="summary"),
]
