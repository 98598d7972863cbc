from typing import Any

import pytest

from tongban.registry.models import ProductionRoute, Unit
from tongban.registry.services import production_centre_for, units_load_province

pytestmark = pytest.mark.django_db


def test_jiangxi_tree_from_region_data() -> None:
    units = Unit.objects.subtree(Unit.objects.get(code="36"))
    assert units.filter(kind=Unit.Kind.CITY).count() == 11
    assert units.filter(kind=Unit.Kind.COUNTY).count() == 100
    assert units.filter(kind=Unit.Kind.STATION).count() == 200
    station = Unit.objects.get(code="360102001")
    assert station.parent is not None and station.parent.code == "360102"
    assert station.parent.name == "南昌市公安局东湖分局"
    assert station.path == "36/3601/360102/360102001/"
    assert Unit.objects.get(code="360121").name == "南昌县公安局"
    assert not Unit.objects.filter(code="360727").exists()  # 龙南县 became 龙南市 (360783) in 2020
    assert Unit.objects.filter(code="360783").exists()


def test_the_unit_of_a_kind_above_a_unit(django_assert_num_queries: Any) -> None:
    station = Unit.objects.get(code="360102001")
    county = Unit.objects.get(code="360102")
    assert station.path_codes == ["36", "3601", "360102", "360102001"]
    assert station.ancestor(Unit.Kind.COUNTY) == county
    assert station.ancestor(Unit.Kind.CITY) == Unit.objects.get(code="3601")
    assert station.ancestor(Unit.Kind.STATION) == station
    assert county.ancestor(Unit.Kind.COUNTY) == county
    assert county.ancestor(Unit.Kind.STATION) is None
    among = {unit.code: unit for unit in Unit.objects.filter(code__in=station.path_codes)}
    with django_assert_num_queries(0):
        assert station.ancestor(Unit.Kind.PROVINCE, among=among) == among["36"]


def test_centres_and_routing_rule_are_data() -> None:
    province_centre = Unit.objects.get(code="360000901")
    ganzhou_centre = Unit.objects.get(code="360700901")
    assert province_centre.name == "江西省公安厅居民身份证制证中心"
    assert ganzhou_centre.name == "赣州市公安局居民身份证制证所"
    assert ganzhou_centre.parent is not None and ganzhou_centre.parent.code == "3607"
    assert set(ProductionRoute.objects.values_list("region_prefix", flat=True)) >= {"36", "3607"}
    assert production_centre_for("360702001") == ganzhou_centre
    assert production_centre_for("360102001") == province_centre
    assert production_centre_for("440101001") is None


def test_reloading_is_idempotent_and_adds_stations() -> None:
    again = units_load_province(province_code="36", stations_per_county=2, actor=None)
    assert (again.created, again.updated) == (0, 0)
    more = units_load_province(province_code="36", stations_per_county=3, actor=None)
    assert more.created == 100
    assert Unit.objects.get(code="360102003").name == "东湖区城西派出所"


def test_unknown_province_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown province"):
        units_load_province(province_code="99", stations_per_county=1, actor=None)
