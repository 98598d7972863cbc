from django.apps import AppConfig


class EcertConfig(AppConfig):
    name = "tongban.ecert"
    verbose_name = "电子证照"

    def ready(self) -> None:
        from tongban.ecert.services import application_changed
        from tongban.intake.transitions import EVENT_LISTENERS

        EVENT_LISTENERS.append(application_changed)
