from django.urls import path

from tongban.supervision import views

app_name = "supervision"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/", views.export, name="export_all"),
    path("export/<slug:key>/", views.export, name="export"),
    path("unstaffed/", views.unstaffed, name="unstaffed"),
    path("unstaffed/export/", views.unstaffed_export, name="unstaffed_export"),
    path("out-of-area/", views.out_of_area, name="out_of_area"),
    path("out-of-area/export/", views.out_of_area_export, name="out_of_area_export_all"),
    path("out-of-area/export/<slug:table>/", views.out_of_area_export, name="out_of_area_export"),
    path("stuck/", views.stuck, name="stuck"),
    path("stuck/<str:number>/", views.stuck_item, name="stuck_item"),
    path("stuck/<str:number>/urge/", views.urge, name="urge"),
]
