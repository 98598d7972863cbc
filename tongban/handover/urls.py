from django.urls import path

from tongban.handover import views

app_name = "handover"
urlpatterns = [
    path("shipments/", views.shipments, name="shipments"),
    path("shipments/new/", views.ship, name="ship"),
    path("shipments/forward/", views.forward, name="forward"),
    path("shipments/<int:pk>/", views.shipment, name="shipment"),
    path("shipments/<int:pk>/receive/", views.receive, name="receive"),
    path("shipments/<int:pk>/delivered/", views.delivered, name="delivered"),
    path("", views.ready, name="ready"),
    path("<int:pk>/", views.handover, name="handover"),
    path("verifications/", views.verifications, name="verifications"),
    path("verifications/<int:pk>/", views.verify, name="verify"),
]
