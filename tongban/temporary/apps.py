from django.apps import AppConfig


class TemporaryConfig(AppConfig):
    name = "tongban.temporary"
    verbose_name = "临时居民身份证"
