"""The admin (系统管理) is Chinese throughout: walks every model admin and what it shows (model and
field names, help texts, choices, columns, filters, actions, inlines, fieldsets), Django's own
strings through our catalog (tongban/locale), and the pages an administrator opens."""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django import forms
from django.contrib import admin
from django.db import models
from django.test import Client, RequestFactory
from django.utils import translation

from tongban.testing.personas import Personas, login

LOCALE = Path(__file__).resolve().parents[1] / "tongban" / "locale" / "zh_Hans" / "LC_MESSAGES"
# Names of things that stay as they are written (a package, standards, algorithms).
PROPER_NOUNS = re.compile(r"chinese-calendar|GA/T|GB/T|GB|SM[234]|TOTP|API|ID|ABIS|EMS|Excel|PDF|LDAP")
TAG = re.compile(r"<[^>]+>")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def _english(text: object) -> list[str]:
    return LATIN_WORD.findall(PROPER_NOUNS.sub("", TAG.sub("", str(text))))


def _field_texts(model: type[models.Model], name: str) -> Iterator[tuple[str, object]]:
    field = model._meta.get_field(name)
    where = f"{model._meta.label}.{name}"
    if isinstance(field, models.Field):
        yield f"{where} verbose_name", field.verbose_name
        if field.help_text:
            yield f"{where} help_text", field.help_text
        for value, label in field.flatchoices or []:
            yield f"{where} choice {value}", label


def _form_texts(model_admin: Any, request: Any) -> Iterator[tuple[str, object]]:
    """The add and change forms as the administrator gets them: labels, help texts, choices."""
    where = model_admin.model._meta.label
    for obj in (None, model_admin.model()):
        form = model_admin.get_form(request, obj)()
        for name, field in form.fields.items():
            yield f"{where} form {name} label", field.label or name
            if field.help_text:
                yield f"{where} form {name} help_text", field.help_text
            if isinstance(field, forms.ModelChoiceField):
                continue  # records, named by their data
            for value, label in getattr(field, "choices", None) or []:
                if not isinstance(label, list | tuple) and value not in ("", None):
                    yield f"{where} form {name} choice {value}", label


def _readonly_names(model_admin: Any, request: Any) -> set[str]:
    names: set[str] = set()
    for obj in (None, model_admin.model()):
        names.update(model_admin.get_readonly_fields(request, obj))
    return names


def _texts(model_admin: Any, request: Any) -> Iterator[tuple[str, object]]:
    model = model_admin.model
    meta = model._meta
    where = meta.label
    yield f"{where} app", meta.app_config.verbose_name
    yield f"{where} verbose_name", meta.verbose_name
    yield f"{where} verbose_name_plural", meta.verbose_name_plural
    columns = [c for c in model_admin.get_list_display(request) if c != "__str__"]
    filters = [f for f in model_admin.get_list_filter(request) if isinstance(f, str)]
    field_names = {f.name for f in meta.get_fields()}
    yield from _form_texts(model_admin, request)
    for name in _readonly_names(model_admin, request) | set(columns) | set(filters):
        if callable(name) or name not in field_names:
            attribute = name if callable(name) else getattr(model_admin, name, None) or getattr(model, name)
            yield f"{where} {name}", getattr(attribute, "short_description", "")
        else:
            yield from _field_texts(model, name)
    for list_filter in model_admin.get_list_filter(request):
        if isinstance(list_filter, type):
            yield f"{where} filter {list_filter.__name__}", list_filter.title
    for name, (_, _, description) in model_admin.get_actions(request).items():
        yield f"{where} action {name}", str(description) % {"verbose_name_plural": meta.verbose_name_plural}
    for title, _ in model_admin.get_fieldsets(request, model()) or []:
        if title:
            yield f"{where} fieldset", title
    for inline in model_admin.get_inline_instances(request):
        inline_meta = inline.model._meta
        yield f"{inline_meta.label} verbose_name", inline_meta.verbose_name
        for name, field in inline.get_formset(request).form.base_fields.items():
            yield f"{inline_meta.label} form {name} label", field.label or name


@pytest.mark.django_db
def test_every_model_admin_shows_chinese_only(personas: Personas) -> None:
    request = RequestFactory().get("/admin/")
    request.user = personas.admin
    found = []
    with translation.override("zh-hans"):
        registry = admin.site._registry
        assert len(registry) >= 15
        for model_admin in registry.values():
            for where, text in _texts(model_admin, request):
                assert str(text).strip(), f"{where} is empty"
                if english := _english(text):
                    found.append(f"{where}: {text!s} ({' '.join(english)})")
    assert not found, "\n".join(found)


def test_no_third_party_english_admin_is_registered() -> None:
    labels = {model._meta.label for model in admin.site._registry}
    assert not labels & {"auth.Group", "authtoken.TokenProxy", "otp_totp.TOTPDevice"}


def _po_entries(path: Path) -> dict[str, str]:
    """msgid (with its msgctxt, gettext's way) → msgstr, for the one-line entries we write."""
    entries: dict[str, str] = {}
    context, msgid = "", None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgctxt "):
            context = line[8:].strip('"')
        elif line.startswith("msgid "):
            msgid = line[6:][1:-1].replace('\\"', '"')
        elif line.startswith("msgstr ") and msgid:
            entries[(context + "\x04" if context else "") + msgid] = line[7:][1:-1]
            context, msgid = "", None
    return entries


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_compiled_catalogs_match_their_sources(domain: str) -> None:
    source = _po_entries(LOCALE / f"{domain}.po")
    with open(LOCALE / f"{domain}.mo", "rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)._catalog  # type: ignore[attr-defined]
    assert source and all(catalog.get(key) == value for key, value in source.items()), (
        f"run: msgfmt -o {domain}.mo {domain}.po in {LOCALE}"
    )


def test_django_strings_left_english_by_its_catalog_are_chinese() -> None:
    with translation.override("zh-hans"):
        assert translation.gettext("Model name") == "名称"
        assert translation.gettext("Save") == "保存"


@pytest.mark.django_db
def test_admin_pages_read_in_chinese(client: Client, personas: Personas) -> None:
    personas.admin.last_name, personas.admin.first_name = "周", "明"
    personas.admin.save(update_fields=["last_name", "first_name"])
    login(client, personas.admin)
    index = client.get("/admin/").content.decode()
    assert "通办 · 系统管理" in index and "<title>系统管理 | 通办系统管理</title>" in index
    assert "欢迎，<strong>周明</strong>" in index
    assert "Django" not in index and "Model name" not in index
    changelist = client.get("/admin/registry/unit/").content.decode()
    assert "过滤器" in changelist and "Django" not in changelist
    catalog = client.get("/admin/jsi18n/").content.decode()
    assert '"one letter Monday\\u0004M": "\\u4e00"' in catalog
