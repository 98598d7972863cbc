from django.urls import path

from tongban.cardcheck import views

app_name = "cardcheck"
urlpatterns = [
    path("", views.institutions, name="institutions"),
    path("new/", views.institution_new, name="institution_new"),
    path("<int:pk>/", views.institution, name="institution"),
    path("<int:pk>/edit/", views.institution_edit, name="institution_edit"),
    path("<int:pk>/key/", views.institution_key, name="institution_key"),
    path("<int:pk>/suspend/", views.institution_suspend, name="institution_suspend"),
    path("<int:pk>/resume/", views.institution_resume, name="institution_resume"),
]
