from django.urls import path

from tongban.liaison import views

app_name = "liaisons"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("missing/", views.missing, name="missing"),
    path("<str:code>/edit/", views.edit, name="edit"),
]
