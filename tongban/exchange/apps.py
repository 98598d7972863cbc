from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "tongban.exchange"
    verbose_name = "跨省通办"

    def ready(self) -> None:
        from tongban.exchange.applications import application_changed
        from tongban.intake.transitions import EVENT_LISTENERS

        EVENT_LISTENERS.append(application_changed)
