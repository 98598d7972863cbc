from django.urls import path

from tongban.exchange import views

app_name = "exchange"
urlpatterns = [
    path("", views.messages, name="messages"),
    path("messages/<int:pk>/retry/", views.message_retry, name="message_retry"),
    path("peers/", views.peers, name="peers"),
    path("peers/<int:pk>/", views.peer_edit, name="peer_edit"),
    path("peers/<int:pk>/ping/", views.peer_ping, name="peer_ping"),
]
