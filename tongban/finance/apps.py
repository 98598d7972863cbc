from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "tongban.finance"
    verbose_name = "财政"
