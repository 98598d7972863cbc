"""Where callers get the biometric engine: the built-in one, or the HTTP adapter to an external
ABIS/SDK when settings.BIOMETRICS["ENGINE"] is "http". One instance of each per process."""

from __future__ import annotations

import functools
from typing import cast

from django.conf import settings

from tongban.biometrics.interfaces import ABIS, BiometricSDK, Modality


def _external() -> bool:
    return cast(str, settings.BIOMETRICS["ENGINE"]) == "http"


@functools.cache
def get_abis() -> ABIS:
    if _external():
        from tongban.biometrics.http import HttpABIS

        return HttpABIS()
    from tongban.biometrics.abis import BuiltinABIS

    return BuiltinABIS()


@functools.cache
def get_sdk(modality: Modality) -> BiometricSDK:
    """The SDK for one modality (quality, template extraction, 1:1 match)."""
    if _external():
        from tongban.biometrics.http import HttpSDK

        return HttpSDK()
    if Modality(modality) == Modality.FACE:
        from tongban.biometrics.face import FaceSDK

        return FaceSDK()
    from tongban.biometrics.finger import FingerSDK

    return FingerSDK()
