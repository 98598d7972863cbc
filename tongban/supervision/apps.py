from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "tongban.supervision"
    verbose_name = "督导"

    def ready(self) -> None:
        from tongban.supervision import signals  # noqa: F401 - connects the rollup's receivers
