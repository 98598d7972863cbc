from django.apps import AppConfig


class CardlossConfig(AppConfig):
    name = "tongban.cardloss"
    verbose_name = "挂失招领"
