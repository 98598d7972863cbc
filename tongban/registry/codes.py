"""The national code tables as shipped; migrations load them and the admin edits them after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tongban.core import regions

SEXES = [("0", "未知的性别"), ("1", "男"), ("2", "女"), ("9", "未说明的性别")]

ETHNICITIES = [
    ("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("04", "藏族"), ("05", "维吾尔族"), ("06", "苗族"),
    ("07", "彝族"), ("08", "壮族"), ("09", "布依族"), ("10", "朝鲜族"), ("11", "满族"), ("12", "侗族"),
    ("13", "瑶族"), ("14", "白族"), ("15", "土家族"), ("16", "哈尼族"), ("17", "哈萨克族"), ("18", "傣族"),
    ("19", "黎族"), ("20", "傈僳族"), ("21", "佤族"), ("22", "畲族"), ("23", "高山族"), ("24", "拉祜族"),
    ("25", "水族"), ("26", "东乡族"), ("27", "纳西族"), ("28", "景颇族"), ("29", "柯尔克孜族"), ("30", "土族"),
    ("31", "达斡尔族"), ("32", "仫佬族"), ("33", "羌族"), ("34", "布朗族"), ("35", "撒拉族"), ("36", "毛南族"),
    ("37", "仡佬族"), ("38", "锡伯族"), ("39", "阿昌族"), ("40", "普米族"), ("41", "塔吉克族"), ("42", "怒族"),
    ("43", "乌孜别克族"), ("44", "俄罗斯族"), ("45", "鄂温克族"), ("46", "德昂族"), ("47", "保安族"),
    ("48", "裕固族"), ("49", "京族"), ("50", "塔塔尔族"), ("51", "独龙族"), ("52", "鄂伦春族"), ("53", "赫哲族"),
    ("54", "门巴族"), ("55", "珞巴族"), ("56", "基诺族"), ("97", "其他"), ("98", "外国血统中国籍人士"),
]  # fmt: skip

HOUSEHOLD_RELATIONS = [
    ("01", "本人"), ("02", "户主"), ("10", "配偶"), ("11", "夫"), ("12", "妻"),
    ("20", "子"), ("21", "独生子"), ("22", "长子"), ("23", "次子"), ("24", "三子"), ("25", "四子"), ("26", "五子"),
    ("27", "养子或继子"), ("28", "女婿"), ("29", "其他儿子"),
    ("30", "女"), ("31", "独生女"), ("32", "长女"), ("33", "次女"), ("34", "三女"), ("35", "四女"), ("36", "五女"),
    ("37", "养女或继女"), ("38", "儿媳"), ("39", "其他女儿"),
    ("40", "孙子、孙女或外孙子、外孙女"), ("41", "孙子"), ("42", "孙女"), ("43", "外孙子"), ("44", "外孙女"),
    ("45", "孙媳妇或外孙媳妇"), ("46", "孙女婿或外孙女婿"), ("47", "曾孙子或外曾孙子"), ("48", "曾孙女或外曾孙女"),
    ("49", "其他孙子、孙女或外孙子、外孙女"),
    ("50", "父母"), ("51", "父亲"), ("52", "母亲"), ("53", "公公"), ("54", "婆婆"), ("55", "岳父"), ("56", "岳母"),
    ("57", "继父或养父"), ("58", "继母或养母"), ("59", "其他父母关系"),
    ("60", "祖父母或外祖父母"), ("61", "祖父"), ("62", "祖母"), ("63", "外祖父"), ("64", "外祖母"),
    ("65", "配偶的祖父母或外祖父母"), ("66", "曾祖父"), ("67", "曾祖母"), ("68", "配偶的曾祖父母或外曾祖父母"),
    ("69", "其他祖父母或外祖父母关系"),
    ("70", "兄弟姐妹"), ("71", "兄"), ("72", "嫂"), ("73", "弟"), ("74", "弟媳"), ("75", "姐姐"), ("76", "姐夫"),
    ("77", "妹妹"), ("78", "妹夫"), ("79", "其他兄弟姐妹"),
    ("80", "其他"), ("81", "伯父"), ("82", "伯母"), ("83", "叔父"), ("84", "婶母"), ("85", "舅父"), ("86", "舅母"),
    ("87", "姨父"), ("88", "姨母"), ("89", "姑父"), ("90", "姑母"), ("91", "堂兄弟、堂姐妹"), ("92", "表兄弟、表姐妹"),
    ("93", "侄子"), ("94", "侄女"), ("95", "外甥"), ("96", "外甥女"), ("97", "其他亲属"), ("99", "非亲属"),
]  # fmt: skip

APPLICATION_REASONS = [
    ("11", "未满16周岁申领", "first"),
    ("12", "年满16周岁申领", "first"),
    ("13", "港澳台居民定居申领", "first"),
    ("14", "华侨回国定居申领", "first"),
    ("15", "入籍或恢复国籍申领", "first"),
    ("19", "其他原因首次申领", "first"),
    ("21", "有效期满换领", "renewal"),
    ("22", "登记项目变更换领", "renewal"),
    ("23", "证件严重损坏换领", "renewal"),
    ("24", "换发新一代证件", "renewal"),
    ("29", "其他原因换领", "renewal"),
    ("31", "证件丢失补领", "replacement"),
    ("32", "证件被盗补领", "replacement"),
    ("39", "其他原因补领", "replacement"),
]

FINGER_POSITIONS = [
    ("11", "右手拇指"), ("12", "右手食指"), ("13", "右手中指"), ("14", "右手环指"), ("15", "右手小指"),
    ("16", "左手拇指"), ("17", "左手食指"), ("18", "左手中指"), ("19", "左手环指"), ("20", "左手小指"),
    ("97", "右手不确定指位"), ("98", "左手不确定指位"), ("99", "其他不确定指位"),
]  # fmt: skip


# 不予签发原因: the grounds of DOMAIN.md §4 and the 全省通办 notice (信息与户籍登记不一致, 相片不符合
# 制证标准, 不符合首次申领条件, 人像比对, 经核查仍难以确认身份) and today's practice. (code, name,
# remark required). Loaded once; the admin edits them after.
REFUSAL_REASONS = [
    ("01", "非首次申领", False),
    ("02", "户籍信息不符", False),
    ("03", "相片不符合制证标准", False),
    ("04", "人像比对不一致", False),
    ("05", "冒名顶替嫌疑", False),
    ("06", "经核查仍难以确认身份", False),
    ("07", "材料不全或不实", False),
    ("08", "不属本辖区户籍", False),
    ("99", "其他", True),
]


def load_refusal_reasons(get_model: Callable[[str], Any]) -> None:
    """Add the shipped refusal reasons that are missing; rows already there (perhaps edited by
    an administrator) are left as they are."""
    model = get_model("RefusalReason")
    for code, name, remark_required in REFUSAL_REASONS:
        model.objects.get_or_create(code=code, defaults={"name": name, "remark_required": remark_required})


def load_code_tables(get_model: Callable[[str], Any]) -> None:
    """Fill the code tables and the region history. `get_model(name)` gives a registry model:
    the historical one inside a migration, the real one elsewhere. Idempotent."""

    def fill(model_name: str, rows: list[tuple[str, str]]) -> None:
        model = get_model(model_name)
        for code, name in rows:
            model.objects.update_or_create(code=code, defaults={"name": name})

    fill("Sex", SEXES)
    fill("Ethnicity", ETHNICITIES)
    fill("HouseholdRelation", HOUSEHOLD_RELATIONS)
    fill("FingerPosition", FINGER_POSITIONS)
    reason = get_model("ApplicationReason")
    for code, name, kind in APPLICATION_REASONS:
        reason.objects.update_or_create(code=code, defaults={"name": name, "kind": kind})
    region = get_model("Region")
    region.objects.all().delete()
    region.objects.bulk_create(
        [
            region(code=e.code, name=e.name, level=e.level, start_year=e.start_year, end_year=e.end_year)
            for e in regions.load_history()
        ],
        batch_size=1000,
    )
