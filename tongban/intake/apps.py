from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "tongban.intake"
    verbose_name = "受理"
