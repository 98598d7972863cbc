from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    name = "tongban.liaison"
    verbose_name = "联络人"
