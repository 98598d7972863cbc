from django.apps import AppConfig


class BiometricsConfig(AppConfig):
    name = "tongban.biometrics"
    label = "biometrics"
    verbose_name = "生物特征"
