"""Keys at rest and over time: private keys sealed with the keys passphrase (or a KMS hook), plain
key files of existing installs still read and encrypted in place, a centre's key rotated with its
old packages still opening, and a package made by the SM2 code before gmssl-pyx."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tongban.audit.actions import AuditAction
from tongban.audit.models import AuditEvent
from tongban.core.crypto import sm2_keypair
from tongban.core.errors import ServiceError
from tongban.core.keys import SYSTEM_KEY_KIND, KeyLocked, load_system_key, load_system_public, system_key_path
from tongban.production import services
from tongban.production.models import Batch, CentreKey
from tongban.production.package import open_package
from tongban.production.tests.test_services import _open, _packaged

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"


def _passphrase(settings: Any, value: str = "", hook: str = "") -> None:
    settings.CARD_PRODUCTION = {
        **settings.CARD_PRODUCTION,
        "KEYS_PASSPHRASE": value,
        "KEYS_PASSPHRASE_HOOK": hook,
    }


def kms_passphrase() -> str:
    """What a KMS hook returns (TONGBAN_KEYS_PASSPHRASE_HOOK names a callable like this one)."""
    return "from the kms"


def test_a_package_made_before_gmssl_still_opens(tmp_path: Path) -> None:
    keys = json.loads((FIXTURES / "old-keys.json").read_text())
    centre = sm2_keypair(keys["centre"]["private_key"], keys["centre"]["public_key"])
    opened = open_package(
        FIXTURES / "old-package.tbpkg",
        centre_key=centre,
        system_public=keys["system"]["public_key"],
        out_dir=tmp_path,
    )
    assert opened.header["cards"] == 1
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["cards"][0]["name"] == "旧包"
    assert (tmp_path / manifest["cards"][0]["photo"]["path"]).read_bytes() == b"\xff\xd8old photo"


def test_the_system_key_is_sealed_with_the_passphrase(settings: Any) -> None:
    _passphrase(settings, "correct horse")
    pair = services.system_key_generate()
    text = system_key_path().read_text()
    assert pair.private not in text and "sealed_private_key" in text
    assert load_system_key() == pair
    _passphrase(settings)
    assert load_system_public() == pair.public  # verifying needs no passphrase
    with pytest.raises(ServiceError) as missing:
        services.system_key()
    assert "TONGBAN_KEYS_PASSPHRASE" in missing.value.message and "未配置密钥口令" in missing.value.message
    _passphrase(settings, "wrong horse")
    with pytest.raises(KeyLocked, match=r"密钥口令错误.*Wrong keys passphrase"):
        load_system_key()
    _passphrase(settings, hook="tongban.production.tests.test_keys.kms_passphrase")
    services.system_key_generate(force=True)
    assert "sealed_private_key" in system_key_path().read_text()
    assert load_system_key().public == load_system_public()


def test_a_plain_key_of_an_existing_install_works_and_gets_encrypted(settings: Any, tmp_path: Path) -> None:
    old = json.loads((FIXTURES / "old-keys.json").read_text())["system"]
    path = system_key_path()
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"kind": SYSTEM_KEY_KIND, **old}))
    assert load_system_key().private == old["private_key"]
    with pytest.raises(CommandError, match="TONGBAN_KEYS_PASSPHRASE"):
        call_command("keys", "encrypt")
    _passphrase(settings, "correct horse")
    out = io.StringIO()
    call_command("keys", "encrypt", stdout=out)
    assert json.loads(out.getvalue())["encrypted"] is True
    assert old["private_key"] not in path.read_text() and (path.stat().st_mode & 0o777) == 0o600
    assert load_system_key().private == old["private_key"]
    assert AuditEvent.objects.filter(action=AuditAction.PRODUCTION_KEY_ENCRYPTED).count() == 1
    with pytest.raises(CommandError, match="已经加密"):
        call_command("keys", "encrypt")
    call_command("keys", "show", stdout=(shown := io.StringIO()))
    assert json.loads(shown.getvalue())["system"]["encrypted"] is True


def test_generating_without_a_passphrase_warns(capsys: Any) -> None:
    call_command("keys", "generate-system")
    captured = capsys.readouterr()
    assert json.loads(captured.out)["encrypted"] is False
    assert "未加密" in captured.err and "unencrypted" in captured.err


def test_a_centre_encrypts_its_own_key_file(settings: Any, centre_keys: dict[str, Path]) -> None:
    path = centre_keys["360000901"]
    _passphrase(settings, "the centre's own")
    call_command("keys", "encrypt", str(path), stdout=io.StringIO())
    assert services.read_centre_key_file(path).centre == "360000901"
    _passphrase(settings)
    with pytest.raises(ServiceError) as locked:
        services.read_centre_key_file(path)
    assert locked.value.code == "key_locked" and "TONGBAN_KEYS_PASSPHRASE" in locked.value.message


def test_rotating_a_centre_key_keeps_old_packages_open(
    personas: Any, issue: Any, centre_keys: dict[str, Path], tmp_path: Path
) -> None:
    old_file = centre_keys["360000901"]
    old_batch = _packaged(personas, issue, count=1)
    old_key = old_batch.centre_key
    new_file = tmp_path / "centre-360000901-2.json"
    out = io.StringIO()
    call_command("keys", "rotate-centre", "360000901", "--out", str(new_file), stdout=out)
    new_fingerprint = json.loads(out.getvalue())["fingerprint"]
    old_key.refresh_from_db()
    assert not old_key.active and CentreKey.objects.get(
        centre__code="360000901", active=True
    ).fingerprint == (new_fingerprint)
    rotated = AuditEvent.objects.get(action=AuditAction.PRODUCTION_CENTRE_KEY_ROTATED)
    assert rotated.detail == {
        "centre": "360000901",
        "fingerprint": new_fingerprint,
        "previous": old_key.fingerprint,
    }
    new_batch = _packaged(personas, issue, count=1)
    assert new_batch.centre_key.fingerprint == new_fingerprint
    assert Batch.objects.get(pk=old_batch.pk).centre_key_id == old_key.pk
    for batch in (old_batch, new_batch):
        path = services.package_path(batch)
        code, _, err = _open(path, new_file, extra_keys=(old_file,))
        assert code == 0, err
    assert _open(services.package_path(old_batch), new_file)[0] == 1  # the new key alone: wrong_key
    call_command("keys", "show", stdout=(shown := io.StringIO()))
    assert [k["fingerprint"] for k in json.loads(shown.getvalue())["retired_centre_keys"]] == [
        old_key.fingerprint
    ]
    CentreKey.objects.filter(centre__code="360700901").update(active=False)
    with pytest.raises(CommandError, match="尚无密钥"):
        call_command("keys", "rotate-centre", "360700901", "--out", str(tmp_path / "x.json"))
