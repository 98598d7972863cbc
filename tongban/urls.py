from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tongban import views
from tongban.accounts.api import TokenView
from tongban.registry import api as registry_api

api_v1 = [
    path("auth/token", TokenView.as_view(), name="token"),
    path("people", registry_api.PeopleView.as_view(), name="people"),
    path("people/lookup", registry_api.PersonLookupView.as_view(), name="person_lookup"),
    path("people/<int:pk>", registry_api.PersonDetailView.as_view(), name="person_detail"),
    path("units", registry_api.UnitsView.as_view(), name="units"),
    path("idnumbers/check", registry_api.IdNumberCheckView.as_view(), name="idnumber_check"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("tongban.accounts.urls")),
    path("", include("tongban.registry.urls")),
    path("audit/", include("tongban.audit.urls")),
    # The admin signs in through the same audited login (and second factor) as everyone else.
    path("admin/login/", RedirectView.as_view(pattern_name="accounts:login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api_docs"),
]
