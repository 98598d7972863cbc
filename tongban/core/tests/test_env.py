import pytest

from tongban.core.env import EnvError, env_bool, env_hex_key, env_int, env_list


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
