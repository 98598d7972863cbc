"""The stations' pages under /appointments/."""

from django.urls import path

from tongban.appointments import views

app_name = "appointments"
urlpatterns = [
    path("", views.day, name="day"),
    path("open/", views.open_code, name="open"),
    path("schedule/", views.schedule, name="schedule"),
    path("<str:code>/", views.detail, name="detail"),
    path("<str:code>/open/", views.open_booking, name="open_booking"),
]
