from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

from tongban.biometrics import engine
from tongban.biometrics.abis import BuiltinABIS
from tongban.biometrics.face import FaceSDK
from tongban.biometrics.finger import FingerSDK
from tongban.biometrics.http import HttpABIS, HttpSDK
from tongban.biometrics.interfaces import Modality


@pytest.fixture(autouse=True)
def _fresh_engines() -> Iterator[None]:
    engine.get_abis.cache_clear()
    engine.get_sdk.cache_clear()
    yield
    engine.get_abis.cache_clear()
    engine.get_sdk.cache_clear()


def test_builtin_engine_by_default() -> None:
    assert isinstance(engine.get_abis(), BuiltinABIS)
    assert engine.get_abis() is engine.get_abis()
    assert isinstance(engine.get_sdk(Modality.FACE), FaceSDK)
    assert isinstance(engine.get_sdk(Modality.FINGER), FingerSDK)


def test_http_engine_when_configured() -> None:
    with override_settings(
        BIOMETRICS={**settings.BIOMETRICS, "ENGINE": "http", "URL": "http://127.0.0.1:9/e"}
    ):
        assert isinstance(engine.get_abis(), HttpABIS)
        assert isinstance(engine.get_sdk(Modality.FACE), HttpSDK)


def test_service_engine_keeps_the_sdk_in_the_process() -> None:
    from tongban.biometrics.client import ServiceABIS

    with override_settings(
        BIOMETRICS={
            **settings.BIOMETRICS,
            "ENGINE": "service",
            "NODES": "3601=http://h1:8790,*=http://h2:8790",
        }
    ):
        abis = engine.get_abis()
        assert isinstance(abis, ServiceABIS) and abis.urls == ["http://h1:8790", "http://h2:8790"]
        assert isinstance(engine.get_sdk(Modality.FACE), FaceSDK)
        assert isinstance(engine.get_sdk(Modality.FINGER), FingerSDK)


def test_an_unknown_engine_or_node_list_stops_the_process() -> None:
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(BIOMETRICS={**settings.BIOMETRICS, "ENGINE": "servce"}):
        with pytest.raises(ImproperlyConfigured):
            apps.get_app_config("biometrics").ready()  # at start-up
        with pytest.raises(ImproperlyConfigured):
            engine.get_abis()
    broken = {**settings.BIOMETRICS, "ENGINE": "service", "NODES": "3601=h1:8790"}
    with override_settings(BIOMETRICS=broken), pytest.raises(ImproperlyConfigured):
        apps.get_app_config("biometrics").ready()
