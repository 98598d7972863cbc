from django.urls import path

from tongban.cardloss import views

app_name = "cardloss"
urlpatterns = [
    path("", views.reports, name="reports"),
    path("report/", views.report_new, name="report_new"),
    path("reports/<int:pk>/", views.report_detail, name="report_detail"),
    path("reports/<int:pk>/restore/", views.report_restore, name="report_restore"),
    path("found/", views.found_list, name="found_list"),
    path("found/new/", views.found_new, name="found_new"),
    path("found/<int:pk>/", views.found_detail, name="found_detail"),
    path("found/<int:pk>/collect/", views.found_collect, name="found_collect"),
    path("found/<int:pk>/destroy/", views.found_destroy, name="found_destroy"),
]
