from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (演示数据): `tongban demo seed`. No models of its own."""

    name = "tongban.demo"
    label = "demo"
    verbose_name = "演示数据"
