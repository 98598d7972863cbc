"""How a province's unit tree is derived from the GB/T 2260 region data.

Pure Python: the naming rules and the production centres each province runs. Station names
are synthetic (the region data has none); real deployments rename them in the admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from tongban.core import regions

# Stems for generated station names, in order; station N of a county takes stem N.
STATION_STEMS = (
    "城关",
    "城东",
    "城西",
    "城南",
    "城北",
    "新城",
    "开发区",
    "工业园",
    "滨江",
    "湖滨",
    "站前",
    "长安",
)


@dataclass(frozen=True)
class CentreSpec:
    """A production centre (制证中心): run by the unit of `owner_region`, producing the cards
    accepted in regions starting with `serves_prefix`."""

    owner_region: str  # 2-digit province or 4-digit city code
    name: str
    serves_prefix: str

    @property
    def code(self) -> str:
        return self.owner_region.ljust(6, "0") + "901"


# Besides every province's own centre, cities that run a centre of their own.
EXTRA_CENTRES: dict[str, tuple[CentreSpec, ...]] = {
    "36": (CentreSpec(owner_region="3607", name="赣州市公安局居民身份证制证所", serves_prefix="3607"),),
}


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: str  # a Unit.Kind value
    parent_code: str | None
    region_code: str


def province_centre(province_code: str) -> CentreSpec:
    name = regions.name_for(province_code + "0000") or province_code
    return CentreSpec(
        owner_region=province_code, name=f"{name}公安厅居民身份证制证中心", serves_prefix=province_code
    )


def county_bureau_name(city_name: str, county_name: str) -> str:
    # An urban district's police are a branch of the city bureau (南昌市公安局东湖分局);
    # counties and county-level cities have their own bureau (南昌县公安局).
    if county_name.endswith("区"):
        return f"{city_name}公安局{county_name[:-1]}分局"
    return f"{county_name}公安局"


def station_name(county_name: str, number: int) -> str:
    stem = STATION_STEMS[number - 1] if number <= len(STATION_STEMS) else f"第{number}"
    return f"{county_name}{stem}派出所"


def province_tree(province_code: str, stations_per_county: int) -> list[UnitSpec]:
    """Province, cities, county bureaus and N stations per current county, parents first."""
    province_name = regions.name_for(province_code + "0000")
    if province_name is None:
        raise ValueError(f"unknown province code {province_code}")
    specs = [UnitSpec(province_code, f"{province_name}公安厅", "province", None, province_code + "0000")]
    counties = regions.current_counties(province_code)
    for city in regions.current_cities(province_code):
        city_code = city.code[:4]
        specs.append(UnitSpec(city_code, f"{city.name}公安局", "city", province_code, city.code))
        for county in (c for c in counties if c.code.startswith(city_code)):
            specs.append(
                UnitSpec(
                    county.code, county_bureau_name(city.name, county.name), "county", city_code, county.code
                )
            )
            specs.extend(
                UnitSpec(
                    f"{county.code}{n:03d}", station_name(county.name, n), "station", county.code, county.code
                )
                for n in range(1, stations_per_county + 1)
            )
    return specs


def centres(province_code: str) -> list[CentreSpec]:
    return [province_centre(province_code), *EXTRA_CENTRES.get(province_code, ())]
