from django.urls import path

from tongban.ecert import views

app_name = "ecert_public"
urlpatterns = [
    path("", views.holder, name="holder"),
    path("show/", views.show, name="show"),
    path("signout/", views.signout, name="signout"),
    path("verify/", views.verify, name="verify"),
]
