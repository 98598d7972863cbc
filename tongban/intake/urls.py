from django.urls import path

from tongban.intake import views

app_name = "intake"
urlpatterns = [
    path("", views.counter, name="counter"),
    path("new/", views.start, name="start"),
    path("guests/new/", views.guest, name="guest"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/details/", views.save_details, name="save_details"),
    path("<int:pk>/photo/", views.upload_photo, name="upload_photo"),
    path("<int:pk>/guardian-photo/", views.upload_guardian_photo, name="upload_guardian_photo"),
    path("<int:pk>/fingers/", views.record_finger, name="record_finger"),
    path("<int:pk>/fingers/reset/", views.reset_fingers, name="reset_fingers"),
    path("<int:pk>/accept/", views.accept, name="accept"),
    path("<int:pk>/abandon/", views.abandon, name="abandon"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/refusal-notified/", views.refusal_notified, name="refusal_notified"),
    path("<int:pk>/<str:which>.jpg", views.photo, name="photo"),
    path("<int:pk>/documents/<str:kind>.pdf", views.document, name="document"),
]
