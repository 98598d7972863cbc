from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "tongban.supervision"
    verbose_name = "督导"
