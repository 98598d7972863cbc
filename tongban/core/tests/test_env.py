from pathlib import Path

import pytest

from tongban.core.env import EnvError, env_bool, env_hex_key, env_int, env_list, env_secret


def test_typed_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_BOOL", "yes")
    monkeypatch.setenv("T_INT", "42")
    monkeypatch.setenv("T_LIST", "a, b,,c")
    monkeypatch.setenv("T_KEY", "00" * 16)
    assert env_bool("T_BOOL", False) is True
    assert env_bool("T_UNSET", True) is True
    assert env_int("T_INT", 1) == 42
    assert env_list("T_LIST", []) == ["a", "b", "c"]
    assert env_hex_key("T_KEY", "", length=16) == bytes(16)


@pytest.mark.parametrize(
    ("name", "value", "reader"),
    [
        ("T_BOOL", "maybe", lambda: env_bool("T_BOOL", False)),
        ("T_INT", "four", lambda: env_int("T_INT", 1)),
        ("T_KEY", "zz" * 16, lambda: env_hex_key("T_KEY", "", length=16)),
        ("T_KEY", "00" * 8, lambda: env_hex_key("T_KEY", "", length=16)),
    ],
)
def test_malformed_values_fail_loudly_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, reader: object
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(EnvError, match=name):
        reader()  # type: ignore[operator]


def test_a_secret_comes_from_its_variable_or_its_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert env_secret("T_SECRET", "default") == "default"
    monkeypatch.setenv("T_SECRET", "from the environment")
    assert env_secret("T_SECRET", "default") == "from the environment"
    monkeypatch.delenv("T_SECRET")
    (tmp_path / "secret").write_text("  from a file\n", encoding="utf-8")
    monkeypatch.setenv("T_SECRET_FILE", str(tmp_path / "secret"))
    assert env_secret("T_SECRET", "default") == "from a file"
    (tmp_path / "key").write_text("00" * 16 + "\n", encoding="utf-8")
    monkeypatch.setenv("T_KEY_FILE", str(tmp_path / "key"))
    assert env_hex_key("T_KEY", "", length=16) == bytes(16)


def test_a_secret_set_both_ways_or_an_unreadable_file_fails_loudly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_text("from a file", encoding="utf-8")
    monkeypatch.setenv("T_SECRET", "from the environment")
    monkeypatch.setenv("T_SECRET_FILE", str(tmp_path / "secret"))
    with pytest.raises(EnvError, match="T_SECRET and T_SECRET_FILE are both set"):
        env_secret("T_SECRET", "")
    monkeypatch.delenv("T_SECRET")
    monkeypatch.setenv("T_SECRET_FILE", str(tmp_path / "absent"))
    with pytest.raises(EnvError, match="T_SECRET_FILE: cannot read"):
        env_secret("T_SECRET", "")
