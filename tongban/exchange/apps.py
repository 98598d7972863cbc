from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "tongban.exchange"
    verbose_name = "跨省通办"
