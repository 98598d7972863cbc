from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "tongban.jobs"
    verbose_name = "后台任务"
