from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "tongban.campaigns"
    verbose_name = "集中换发"
