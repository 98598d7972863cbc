from django.urls import path

from tongban.accounts import liaison_views as views

app_name = "liaisons"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("missing/", views.missing, name="missing"),
    path("<str:code>/edit/", views.edit, name="edit"),
]
