from django.urls import path

from tongban.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.guide, name="guide"),
]
