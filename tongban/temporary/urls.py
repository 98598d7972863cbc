from django.urls import path

from tongban.temporary import views

app_name = "temporary"

urlpatterns = [
    path("", views.register, name="register"),
    path("new/", views.accept, name="new"),
    path("queue/", views.queue, name="queue"),
    path("unreturned/", views.unreturned, name="unreturned"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/print/", views.print_card, name="print"),
]
