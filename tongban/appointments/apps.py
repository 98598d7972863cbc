from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "tongban.appointments"
    verbose_name = "网上预约"
