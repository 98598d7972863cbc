from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "tongban.review"
    verbose_name = "审核签发"
