from django.urls import path

from tongban.production import views

app_name = "production"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("batches/", views.batches, name="batches"),
    path("batches/new/", views.batch_create, name="batch_create"),
    path("batches/<int:pk>/", views.batch, name="batch"),
    path("batches/<int:pk>/package/", views.batch_package, name="batch_package"),
    path("batches/<int:pk>/package.tbpkg", views.package_download, name="package_download"),
    path("batches/<int:pk>/feedback.csv", views.feedback_template, name="feedback_template"),
    path("feedback/", views.feedback, name="feedback"),
    path("feedback/template.csv", views.feedback_blank_template, name="feedback_blank_template"),
    path("feedback/<int:pk>/", views.feedback_report, name="feedback_report"),
    # The acceptance station's side of a quality failure (质量回馈 → 重新采集相片).
    path("recollect/<int:pk>/", views.recollect, name="recollect"),
]
