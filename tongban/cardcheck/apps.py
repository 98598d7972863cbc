from django.apps import AppConfig


class CardcheckConfig(AppConfig):
    name = "tongban.cardcheck"
    verbose_name = "居民身份证核查"
