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
