"""Where callers get the biometric engine, by settings.BIOMETRICS["ENGINE"]
(`TONGBAN_BIOMETRICS_ENGINE`). One instance of each per process.

| mode | ABIS (1:N) | SDK (quality, templates, 1:1) |
|---|---|---|
| `builtin` (default) | `BuiltinABIS`: the galleries in this process | in this process |
| `service` | `ServiceABIS`: the engine nodes of `tongban abis serve` hold the galleries | in this process |
| `http` | `HttpABIS`: an external engine | `HttpSDK`: the same external engine |

In `service` mode the SDK stays in the process: it holds no gallery (its dlib models are the
same ~90 MB in every process, whatever the gallery size, where 10M templates are ~7 GB), it is
stateless, its work (~80 ms of CPU for a face template) spreads over every web worker's core
instead of queueing in one engine process, and no photo crosses the network.
"""

from __future__ import annotations

import functools
from typing import cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tongban.biometrics.interfaces import ABIS, BiometricSDK, Modality

MODES = ("builtin", "service", "http")


def mode() -> str:
    value = cast(str, settings.BIOMETRICS["ENGINE"])
    if value not in MODES:
        raise ImproperlyConfigured(
            f"TONGBAN_BIOMETRICS_ENGINE must be one of {', '.join(MODES)}, not {value!r}"
        )
    return value


@functools.cache
def get_abis() -> ABIS:
    engine = mode()
    if engine == "http":
        from tongban.biometrics.http import HttpABIS

        return HttpABIS()
    if engine == "service":
        from tongban.biometrics.client import ServiceABIS

        return ServiceABIS()
    from tongban.biometrics.abis import BuiltinABIS

    return BuiltinABIS()


@functools.cache
def get_sdk(modality: Modality) -> BiometricSDK:
    """The SDK for one modality (quality, template extraction, 1:1 match)."""
    if mode() == "http":
        from tongban.biometrics.http import HttpSDK

        return HttpSDK()
    if Modality(modality) == Modality.FACE:
        from tongban.biometrics.face import FaceSDK

        return FaceSDK()
    from tongban.biometrics.finger import FingerSDK

    return FingerSDK()
