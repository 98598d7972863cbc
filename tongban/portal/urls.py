from django.urls import path

from tongban.portal import views
from tongban.portal.progress import views as progress_views

app_name = "portal"
urlpatterns = [
    path("", views.guide, name="guide"),
    path("progress/", progress_views.progress, name="progress"),
]
