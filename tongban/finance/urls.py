from django.urls import path

from tongban.finance import views

app_name = "finance"
urlpatterns = [
    path("", views.payments, name="payments"),
    path("unremitted/", views.unremitted, name="unremitted"),
    path("remittances/", views.remittances, name="remittances"),
    path("settlement/", views.settlement, name="settlement"),
    path("settlement/lines/", views.settlement_lines, name="settlement_lines"),
    path("receipts/<str:receipt_number>/", views.receipt, name="receipt"),
    path("export/<str:list_name>/", views.export, name="export"),
]
