from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "tongban.registry"
    label = "registry"
    verbose_name = "人口信息与机构"
