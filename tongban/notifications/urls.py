from django.urls import path

from tongban.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("templates/", views.template_list, name="templates"),
    path("templates/<str:code>/", views.template_edit, name="template"),
    path("templates/<str:code>/reset/", views.template_reset, name="template_reset"),
]
