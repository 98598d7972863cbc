from django.urls import path

from tongban.ecert import views

app_name = "ecert"
urlpatterns = [
    path("", views.find, name="find"),
    path("<str:certificate>/", views.detail, name="detail"),
    path("<str:certificate>/print/", views.staff_print, name="print"),
]
