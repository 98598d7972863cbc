"""The duties of seeds/003 §三 (职责分工) per department, as the duty matrix of a new campaign.

Pure Python: the text is the seed's, split where one sentence holds several duties; each duty
is due at the end of the phase it belongs to (`phase`: the work a department must have finished
before 集中换发 starts is due at the end of 准备, the work done during the campaign at the end of
集中换发, and the whole organisation at the end of 总结).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Department(StrEnum):
    FINANCE = "finance"
    PRICING = "pricing"
    CIVIL_AFFAIRS = "civil_affairs"
    CITY = "city"
    COUNTY = "county"
    STATION = "station"

    @property
    def label(self) -> str:
        return DEPARTMENT_LABELS[self]


DEPARTMENT_LABELS: dict[Department, str] = {
    Department.FINANCE: "市财政局",
    Department.PRICING: "市发改委（物价局）",
    Department.CIVIL_AFFAIRS: "市民政局",
    Department.CITY: "市公安局",
    Department.COUNTY: "公安分（县）局",
    Department.STATION: "公安派出所",
}

# The outside departments' names, from the city's name: 南昌市 → 南昌市财政局.
OUTSIDE_NAMES: dict[Department, str] = {
    Department.FINANCE: "{city}财政局",
    Department.PRICING: "{city}发展和改革委员会（物价局）",
    Department.CIVIL_AFFAIRS: "{city}民政局",
}

PREPARE = "prepare"
REPLACE = "replace"
SUMMARY = "summary"


@dataclass(frozen=True)
class DutySpec:
    department: Department
    number: int  # the duty's number within its department, as in the seed where it has one
    text: str
    phase: str  # whose end the duty is due at

    @property
    def code(self) -> str:
        return f"{self.department.value}.{self.number}"


DUTIES: tuple[DutySpec, ...] = (
    DutySpec(Department.FINANCE, 1, "负责全市换发二代证工作所需经费的审核与保障", PREPARE),
    DutySpec(Department.FINANCE, 2, "负责换发二代证工作过程中需进行政府采购的相关事宜", PREPARE),
    DutySpec(
        Department.FINANCE,
        3,
        "指导全市居民身份证工本费收费票据的核发管理，监督各区（县）依法将工本费上交国库",
        REPLACE,
    ),
    DutySpec(Department.PRICING, 1, "负责核定换发二代证工作中有关项目的收费标准", PREPARE),
    DutySpec(
        Department.PRICING,
        2,
        "指导各区（县）物价部门对公安机关在换发二代证过程中执行有关收费标准的监督检查工作",
        REPLACE,
    ),
    DutySpec(Department.CIVIL_AFFAIRS, 1, "负责完成全市地名标志设置工作", PREPARE),
    DutySpec(
        Department.CIVIL_AFFAIRS,
        2,
        "指导各级民政部门对公安机关在换发二代证过程中执行本市门牌管理制度的监督检查工作",
        REPLACE,
    ),
    DutySpec(Department.CITY, 1, "负责组织实施本市公安机关换发二代证工作", SUMMARY),
    DutySpec(
        Department.CITY,
        2,
        "指导市局人口信息管理系统升级、改造和建设工作，建立和完善市级人口信息管理系统",
        PREPARE,
    ),
    DutySpec(
        Department.CITY, 3, "负责分（县）局换发二代证人像采集等系统建设及人员业务和技术培训工作", PREPARE
    ),
    DutySpec(
        Department.CITY,
        4,
        "组织指导本市人口信息核对工作，协调解决本市内居民身份证号码重、错号问题",
        PREPARE,
    ),
    DutySpec(
        Department.CITY,
        5,
        "负责对各区（县）公安机关报送的制证信息进行审核，并将制证信息上报公安厅制证部门",
        REPLACE,
    ),
    DutySpec(
        Department.COUNTY,
        1,
        "在区（县）政府换发二代证工作机构的领导下，负责组织本区（县）公安机关换发二代证工作",
        SUMMARY,
    ),
    DutySpec(Department.COUNTY, 2, "负责维护和完善分（县）局人口信息管理系统", PREPARE),
    DutySpec(Department.COUNTY, 3, "负责派出所换发二代证人像采集等系统维护及人员业务和技术培训工作", PREPARE),
    DutySpec(
        Department.COUNTY,
        4,
        "组织实施本区（县）人口信息核对工作，协调解决辖区内居民身份证号码重、错号问题",
        PREPARE,
    ),
    DutySpec(Department.COUNTY, 5, "负责审核、签发派出所报送的制证信息并上报市公安局", REPLACE),
    DutySpec(Department.COUNTY, 6, "对接收的身份证成品进行质检和分发", REPLACE),
    DutySpec(
        Department.STATION,
        1,
        "负责居民身份证人像等制证信息的采集，保证采集的人像和信息符合制证技术标准要求",
        REPLACE,
    ),
    DutySpec(Department.STATION, 2, "负责居民住址信息追加写入", REPLACE),
    DutySpec(
        Department.STATION,
        3,
        "核对辖区内居民户口资料和身份证信息，使常住人口登记表、居民户口薄、居民身份证和居民本人实际情况一致",
        PREPARE,
    ),
    DutySpec(Department.STATION, 4, "受理本辖区居民申领、换领和补领身份证工作", REPLACE),
    DutySpec(Department.STATION, 5, "核验、发放居民身份证，定期上报换发二代证基本情况", REPLACE),
)


def duties_of(department: Department) -> tuple[DutySpec, ...]:
    return tuple(duty for duty in DUTIES if duty.department == department)
