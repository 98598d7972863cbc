from django.apps import AppConfig


class BiometricsConfig(AppConfig):
    name = "tongban.biometrics"
    label = "biometrics"
    verbose_name = "生物特征"

    def ready(self) -> None:
        # A mistyped engine mode or node list stops the process at start, not at the first photo.
        from django.conf import settings

        from tongban.biometrics.engine import mode
        from tongban.biometrics.shards import parse_nodes

        if mode() == "service":
            parse_nodes(str(settings.BIOMETRICS["NODES"]))
