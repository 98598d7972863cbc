from django.apps import AppConfig


class ProductionConfig(AppConfig):
    name = "tongban.production"
    verbose_name = "制证"
