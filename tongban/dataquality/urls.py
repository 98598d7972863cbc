from django.urls import path

from tongban.dataquality import views

app_name = "dataquality"

urlpatterns = [
    path("", views.index, name="index"),
    path("scan/", views.scan_start, name="scan"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("households/", views.households, name="households"),
    path("addresses/", views.addresses, name="addresses"),
    path("changes/", views.change_list, name="change_list"),
    path("changes/new/<int:person_pk>/", views.change_new, name="change_new"),
    path("changes/<int:pk>/", views.change_detail, name="change_detail"),
]
