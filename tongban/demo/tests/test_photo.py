"""`tongban demo photo`: the photos a new user tries the counter with."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from tongban.biometrics.photo import check_photo
from tongban.biometrics.services import group_photo_check


def test_writes_a_standard_photo_and_a_together_photo(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "demo", "photo", str(tmp_path / "photo.jpg"), "--guardian", str(tmp_path / "together.jpg"), stdout=out
    )
    written = json.loads(out.getvalue())
    photo = (tmp_path / "photo.jpg").read_bytes()
    together = (tmp_path / "together.jpg").read_bytes()
    assert written["photo"] == {
        "path": str(tmp_path / "photo.jpg"),
        "width": 358,
        "height": 441,
        "bytes": len(photo),
    }
    assert written["guardian_photo"]["bytes"] == len(together)
    assert Image.open(io.BytesIO(photo)).format == "JPEG"
    report = check_photo(photo)
    assert report.passed, [rule.message for rule in report.rules if not rule.passed]
    # The counter keeps a 同框 photo only when it shows two (or more) usable faces.
    quality = group_photo_check(together)
    assert quality.passed, quality.reasons
    assert not group_photo_check(photo).passed


def test_guardian_photo_is_optional(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("demo", "photo", str(tmp_path / "photo.jpg"), stdout=out)
    assert set(json.loads(out.getvalue())) == {"photo"}
    assert [path.name for path in tmp_path.iterdir()] == ["photo.jpg"]


def test_says_what_to_install_without_scikit_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    with pytest.raises(CommandError) as refused:
        call_command("demo", "photo", str(tmp_path / "photo.jpg"), stdout=io.StringIO())
    assert "未安装 scikit-image" in str(refused.value)
    assert "scikit-image is not installed" in str(refused.value)
    assert "pip install -e '.[dev]'" in str(refused.value)
    assert not (tmp_path / "photo.jpg").exists()


def test_unwritable_target_is_refused_plainly(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="无法写入"):
        call_command("demo", "photo", str(tmp_path / "missing" / "photo.jpg"), stdout=io.StringIO())
