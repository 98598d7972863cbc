"""The citizen's pages under /guide/appointments/ (no login)."""

from django.urls import path

from tongban.appointments import views

app_name = "booking"
urlpatterns = [
    path("", views.stations, name="stations"),
    path("manage/", views.manage, name="manage"),
    path("booking/<str:code>/", views.booking, name="booking"),
    path("booking/<str:code>/cancel/", views.cancel, name="cancel"),
    path("booking/<str:code>/rebook/", views.rebook, name="rebook"),
    path("<str:code>/", views.slots, name="slots"),
    path("<str:code>/book/", views.book, name="book"),
]
