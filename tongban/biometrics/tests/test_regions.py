"""Which region a template belongs to (the household's), how region prefixes map to engine nodes,
and the migration that gave the stored rows their region."""

from __future__ import annotations

import datetime
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from tongban.biometrics.abis import FACE_FORMAT, BuiltinABIS, TemplateStore
from tongban.biometrics.interfaces import Gallery
from tongban.biometrics.models import BiometricTemplate, TemplateChange
from tongban.biometrics.regions import ref_region
from tongban.biometrics.shards import DEFAULT_NODE, Node, Shard, parse_nodes, parse_prefixes, route
from tongban.biometrics.tests.test_abis import faces
from tongban.intake.capture import application_ref
from tongban.intake.models import Application
from tongban.registry.models import FloatingRegistration, WantedPerson
from tongban.testing.factories import PersonFactory, station
from tongban.testing.personas import Personas

NODES = "3601=http://h1:8790, 3602=http://h2:8790,36=http://h3:8790/,*=http://h4:8790"


def test_nodes_and_longest_prefix_routing() -> None:
    nodes = parse_nodes(NODES)
    assert [n.prefix for n in nodes] == ["3601", "3602", "36", ""]
    assert route(nodes, "360102") == Node("3601", "http://h1:8790")
    assert route(nodes, "360203").url == "http://h2:8790"  # type: ignore[union-attr]
    assert route(nodes, "360702").url == "http://h3:8790"  # type: ignore[union-attr]
    assert route(nodes, "440300").url == "http://h4:8790"  # type: ignore[union-attr]
    assert route(nodes, "").url == "http://h4:8790"  # type: ignore[union-attr]
    assert route(parse_nodes("3601=http://h1:8790"), "360702") is None
    assert parse_nodes("") == (Node("", DEFAULT_NODE),)
    assert parse_nodes("http://one:8790") == (Node("", "http://one:8790"),)
    for bad in ("36x=http://h", "3601=ftp://h", "3601=http://a,3601=http://b", "1234567=http://h"):
        with pytest.raises(ImproperlyConfigured):
            parse_nodes(bad)
    assert parse_prefixes("3602, 3601") == ("3601", "3602") and parse_prefixes("*") == ("",)
    with pytest.raises(ImproperlyConfigured):
        parse_prefixes("36a")


@pytest.mark.django_db
def test_a_shard_owns_the_regions_its_longest_prefixes_win() -> None:
    nodes = parse_nodes(NODES)
    regions = ["360102", "360111", "360203", "360702", "360000", "440300", "", "3"]
    for region in regions:
        BiometricTemplate.objects.create(
            gallery=Gallery.PERMANENT,
            ref_id=f"r:{region}",
            modality="face",
            format="x",
            region=region,
            template=b"t",
        )
    shards = {
        "h1": Shard.of(("3601",), nodes),
        "h1+h2": Shard.of(("3601", "3602"), nodes),
        "h3": Shard.of(("36",), nodes),
        "h4": Shard.of(("",), nodes),
        "alone": Shard.everything(),
    }
    expected = {
        "h1": {"360102", "360111"},
        "h1+h2": {"360102", "360111", "360203"},
        "h3": {"360702", "360000"},
        "h4": {"440300", "", "3"},
        "alone": set(regions),
    }
    for name, shard in shards.items():
        assert {r for r in regions if shard.owns(r)} == expected[name], name
        in_sql = set(BiometricTemplate.objects.filter(shard.q()).values_list("region", flat=True))
        assert in_sql == expected[name], name
    # Every region has exactly one owner among the configured nodes.
    owners = [shards[n] for n in ("h1", "h3", "h4")] + [Shard.of(("3602",), nodes)]
    assert all(sum(s.owns(r) for s in owners) == 1 for r in regions)
    assert shards["h3"].key == "36-3601-3602" and shards["alone"].whole and not shards["h3"].whole


@pytest.mark.django_db
def test_a_template_belongs_to_the_household_region(
    personas: Personas, accept: Callable[..., Application]
) -> None:
    ganzhou = PersonFactory.create(registration_unit=station("360702001"))
    nanchang = PersonFactory.create()
    wanted = WantedPerson.objects.create(
        id_number=ganzhou.id_number,
        person=ganzhou,
        name=ganzhou.name,
        case_number="A1",
        listed_on="2026-01-01",
    )
    floating = FloatingRegistration.objects.create(
        person=nanchang,
        residence_unit=station("360702001"),
        address="赣州市章贡区某路1号",
        registered_on=datetime.date(2026, 1, 5),
    )
    assert ref_region(f"person:{ganzhou.pk}") == "360702"
    assert ref_region(f"wanted:{wanted.pk}") == "360702"
    assert ref_region(f"floating:{floating.pk}") == "360102"  # the household, not the residence
    for unknown in ("person:0", "person:abc", "person:", "other:1", "person:" + "9" * 30, "person:１"):
        assert ref_region(unknown) == ""
    # Accepted at a Ganzhou counter for a Nanchang household: stored with the household's region.
    application = accept(personas.ganzhou_clerk, nanchang)
    assert ref_region(application_ref(application)) == "360102" == application.region_code
    row = BiometricTemplate.objects.get(ref_id=application_ref(application))
    assert row.region == "360102"
    assert TemplateChange.objects.get(ref_id=application_ref(application)).region == "360102"


@pytest.mark.django_db
def test_the_migration_fills_the_region_of_stored_rows(personas: Personas) -> None:
    person = PersonFactory.create(registration_unit=station("360702001"))
    other = PersonFactory.create()
    wanted = WantedPerson.objects.create(
        id_number=person.id_number, person=person, name=person.name, case_number="A2", listed_on="2026-01-01"
    )
    floating = FloatingRegistration.objects.create(
        person=other,
        residence_unit=station("360702001"),
        address="某路2号",
        registered_on=datetime.date(2026, 1, 5),
    )
    refs = {
        f"person:{person.pk}": "360702",
        f"wanted:{wanted.pk}": "360702",
        f"floating:{floating.pk}": "360102",
        f"person:{other.pk + 1000}": "",
        "person:ghost": "",
        "legacy-ref": "",
    }
    for i, ref in enumerate(refs):
        BiometricTemplate.objects.create(
            gallery=Gallery.PERMANENT, ref_id=ref, modality="face", format=FACE_FORMAT, template=b"t"
        )
        TemplateChange.objects.create(
            gallery=Gallery.PERMANENT, ref_id=ref, modality="face", op="insert", template_id=i
        )
    migration = importlib.import_module("tongban.biometrics.migrations.0002_template_region")
    migration.fill_regions(apps, None)
    assert dict(BiometricTemplate.objects.values_list("ref_id", "region")) == refs
    assert dict(TemplateChange.objects.values_list("ref_id", "region")) == refs


@pytest.mark.django_db
def test_a_sharded_index_is_rebuilt_saved_and_loaded_apart(
    tmp_path: Path, settings: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    settings.BIOMETRICS = {**settings.BIOMETRICS, "INDEX_DIR": tmp_path, "NODES": NODES}
    enrolled, probes = faces(6, seed=30)
    store = TemplateStore()
    for i, region in enumerate(["360102", "360111", "360203", "360702", "440300", "360102"]):
        store.insert(f"person:{i}", enrolled[i], Gallery.PERMANENT, region=region)
    call_command("biometrics", "rebuild-index", "--gallery", "permanent", "--prefixes", "3601")
    rebuilt = json.loads(capsys.readouterr().out)["rebuilt"]["permanent"]
    assert rebuilt["count"] == 3
    assert (tmp_path / "face-permanent@3601" / "CURRENT").exists()
    assert not (tmp_path / "face-permanent").exists()
    nodes = parse_nodes(NODES)
    with caplog.at_level("INFO", logger="tongban.biometrics.abis"):
        node = BuiltinABIS(shard=Shard.of(("3601",), nodes))
        assert [c.ref_id for c in node.identify(probes[1], Gallery.PERMANENT)] == ["person:1"]
        assert node.identify(probes[3], Gallery.PERMANENT) == []  # Ganzhou's: another node
        assert node.count(Gallery.PERMANENT) == 3
        # The node of the rest of 36 has no saved index yet: it builds its own.
        rest = BuiltinABIS(shard=Shard.of(("36",), nodes))
        assert [c.ref_id for c in rest.identify(probes[3], Gallery.PERMANENT)] == ["person:3"]
    assert caplog.text.count("rebuilding face index") == 1
    assert (tmp_path / "face-permanent@36-3601-3602" / "CURRENT").exists()
