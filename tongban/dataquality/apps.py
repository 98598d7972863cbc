from django.apps import AppConfig


class DataQualityConfig(AppConfig):
    name = "tongban.dataquality"
    label = "dataquality"
    verbose_name = "数据清理（重号/错号）"
    default_auto_field = "django.db.models.BigAutoField"
