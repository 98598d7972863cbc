from django.urls import path

from tongban.registry import views

app_name = "registry"
urlpatterns = [
    path("people/", views.person_list, name="person_list"),
    path("people/lookup/", views.person_lookup, name="person_lookup"),
    path("people/<int:pk>/", views.person_detail, name="person_detail"),
    path("units/", views.unit_list, name="unit_list"),
    path("units/missing-contact/", views.units_missing_contact, name="units_missing_contact"),
    path("units/<str:code>/", views.unit_edit, name="unit_edit"),
]
