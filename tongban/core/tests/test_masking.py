import logging

from tongban.core.logging import MaskPersonalData
from tongban.core.masking import mask_id_number, mask_id_numbers_in_text, mask_name, mask_phone


def test_mask_id_number_keeps_region_and_last_four() -> None:
    assert mask_id_number("360102199001011234") == "360102********1234"
    assert mask_id_number("36010219900101123X") == "360102********123X"


def test_mask_name_and_phone() -> None:
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("李四") == "李*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_phone("13912345678") == "139****5678"


def test_numbers_in_free_text_are_masked_but_acceptance_numbers_are_not() -> None:
    text = "查询 36010219900101123x 与 360102900101123，受理号 3601020012026112200001 正常"
    masked = mask_id_numbers_in_text(text)
    assert "19900101" not in masked
    assert "900101" not in masked.replace("3601020012026112200001", "")
    assert "3601020012026112200001" in masked


def test_log_filter_masks_id_numbers_in_formatted_messages() -> None:
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "lookup of %s failed", ("360102199001011234",), None
    )
    assert MaskPersonalData().filter(record)
    assert record.getMessage() == "lookup of 360102********1234 failed"
