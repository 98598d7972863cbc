from django.apps import AppConfig


class HandoverConfig(AppConfig):
    name = "tongban.handover"
    verbose_name = "分发与核验发放"
