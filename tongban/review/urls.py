from django.urls import path

from tongban.review import views

app_name = "review"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.item, name="item"),
    path("<int:pk>/take/", views.take, name="take"),
    path("<int:pk>/release/", views.release, name="release"),
    path("<int:pk>/decide/", views.decide, name="decide"),
]
