from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "tongban.portal"
    label = "portal"
    verbose_name = "办事指南"
