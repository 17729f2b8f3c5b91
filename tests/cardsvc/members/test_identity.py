"""Resident ID numbers, phones, names, masking and member/card numbers (pure, no I/O)."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum.cn import ric

from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.masking import mask_card_number, mask_id_number, mask_name, mask_phone
from cardsvc.members.identity import parse_phone, parse_resident_id, validate_name
from cardsvc.members.numbers import (
    CARD_ISSUER_PREFIX,
    clean_card_no,
    clean_member_no,
    format_card_no,
    format_member_no,
    is_valid_card_no,
    is_valid_member_no,
)

TODAY = date(2026, 11, 27)
VALID_ID = "11010519491231002X"  # GB 11643 example: 北京市朝阳区, 1949-12-31, female


def with_check(body17: str) -> str:
    """An 18-character number with the correct check character for a 17-digit body."""
    return body17 + ric.calc_check_digit(body17 + "0")


def field_error(exc: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str, str]:
    err = exc.value.errors[0]
    return err.field, err.reason_zh, err.reason_en


# ---------------------------------------------------------------- resident ID


def test_valid_id_number_is_parsed() -> None:
    rid = parse_resident_id(VALID_ID, today=TODAY)
    assert rid.number == VALID_ID
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.gender == "F"  # 17th digit 2 is even
    assert rid.region_code == "110105"
    assert rid.region_name == "北京市朝阳区"


def test_lowercase_x_spaces_and_fullwidth_are_normalised() -> None:
    assert parse_resident_id("11010519491231002x", today=TODAY).number == VALID_ID
    assert parse_resident_id(" 110105 19491231 002X ", today=TODAY).number == VALID_ID
    assert parse_resident_id("１１０１０５１９４９１２３１００２ｘ", today=TODAY).number == VALID_ID


def test_male_from_odd_order_code() -> None:
    number = with_check("42050219800101001")
    rid = parse_resident_id(number, today=TODAY)
    assert rid.gender == "M"
    assert rid.region_name == "湖北省宜昌市西陵区"


def test_bad_checksum_rejected() -> None:
    wrong = VALID_ID[:-1] + "1"
    with pytest.raises(ValidationError) as exc:
        parse_resident_id(wrong, today=TODAY)
    field, zh, en = field_error(exc)
    assert field == "id_number"
    assert "校验位" in zh and "check character" in en
    assert exc.value.status == 422


def test_single_digit_typo_is_caught_by_checksum() -> None:
    typo = VALID_ID[:8] + ("5" if VALID_ID[8] != "5" else "6") + VALID_ID[9:]
    with pytest.raises(ValidationError, match="check character"):
        parse_resident_id(typo, today=TODAY)


@pytest.mark.parametrize(
    "body",
    [
        "42050219900230001",  # 30 February
        "42050219901301001",  # month 13
        "42050219900431002",  # 31 April
        "42050219900000002",  # month 0
    ],
)
def test_impossible_birth_date_rejected(body: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_resident_id(with_check(body), today=TODAY)
    field, zh, en = field_error(exc)
    assert field == "id_number"
    assert "出生日期无效" in zh and "not a real date" in en


def test_future_birth_date_rejected() -> None:
    number = with_check("42050220270101001")
    with pytest.raises(ValidationError) as exc:
        parse_resident_id(number, today=TODAY)
    assert "future" in field_error(exc)[2]


def test_under_min_age_rejected_and_min_age_is_a_parameter() -> None:
    fifteen = with_check("42050220110101001")  # 15 on TODAY
    with pytest.raises(ValidationError) as exc:
        parse_resident_id(fifteen, today=TODAY)
    assert "16" in field_error(exc)[1]
    assert parse_resident_id(fifteen, today=TODAY, min_age=14).birth_date == date(2011, 1, 1)


def test_sixteenth_birthday_is_the_boundary() -> None:
    number = with_check("42050220101127001")
    assert parse_resident_id(number, today=TODAY).birth_date == date(2010, 11, 27)
    with pytest.raises(ValidationError):
        parse_resident_id(number, today=date(2026, 11, 26))


def test_born_before_the_district_existed_is_still_valid() -> None:
    # 西陵区 (420502) dates from 1986; an older worker registered there keeps the code.
    # stdnum's validate() rejects this, which is why parse_resident_id does not rely on it.
    number = with_check("42050219600101001")
    assert not ric.is_valid(number)
    assert parse_resident_id(number, today=TODAY).birth_date == date(1960, 1, 1)


@pytest.mark.parametrize(
    ("raw", "reason_en"),
    [
        ("1101051949123100", "must be 18 characters, got 16"),
        ("11010519491231002X1", "must be 18 characters, got 19"),
        ("110105491231002", "15-digit"),
        ("", "required"),
        ("11010519491231A02X", "Malformed"),
        ("1101051949123100Y", "must be 18 characters, got 17"),
        ("11010519491231002Y", "Malformed"),
    ],
)
def test_wrong_length_or_format_rejected(raw: str, reason_en: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_resident_id(raw, today=TODAY)
    field, _zh, en = field_error(exc)
    assert field == "id_number"
    assert reason_en in en


def test_unknown_province_rejected() -> None:
    with pytest.raises(ValidationError, match="region code"):
        parse_resident_id(with_check("99010519800101001"), today=TODAY)


def test_far_past_birth_date_rejected() -> None:
    with pytest.raises(ValidationError, match="before 1900"):
        parse_resident_id(with_check("42050218890101001"), today=TODAY)


# ---------------------------------------------------------------- phone


@pytest.mark.parametrize(
    "raw",
    [
        "138 0013 8000",
        "+86 13800138000",
        "13800138000",
        "+86-138-0013-8000",
        "008613800138000",
        "(+86) 138 0013 8000",
        "１３８００１３８０００",
    ],
)
def test_phone_variants_normalise_to_e164(raw: str) -> None:
    assert parse_phone(raw) == "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "reason_en"),
    [
        ("", "required"),
        ("12345", "Invalid phone number"),
        ("138001380001", "Invalid phone number"),
        ("1380013800", "Invalid phone number"),
        ("010 6552 9988", "not a landline"),
        ("+1 650 253 0000", "mainland China"),
        ("+852 9123 4567", "mainland China"),
        ("13800138000a", "only digits"),
        ("call me", "only digits"),
    ],
)
def test_bad_phones_rejected_with_reason(raw: str, reason_en: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_phone(raw)
    field, _zh, en = field_error(exc)
    assert field == "phone"
    assert reason_en in en


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  张三明 ", "张三明"),
        ("欧阳娜娜", "欧阳娜娜"),
        ("买买提·艾力", "买买提·艾力"),
        ("买买提 • 艾力", "买买提·艾力"),  # look-alike bullet and spaces normalised
        ("阿依古丽・吐尔逊", "阿依古丽·吐尔逊"),  # katakana middle dot
        ("李", "李"),
        ("张　三", "张三"),  # roster padding (ideographic space) is not part of the name
        ("John  Smith", "John Smith"),
        ("Seán O'Brien", "Seán O'Brien"),
        ("𠮷田", "𠮷田"),  # rare characters outside the BMP
    ],
)
def test_valid_names(raw: str, expected: str) -> None:
    assert validate_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason_en"),
    [
        ("", "required"),
        ("   ", "required"),
        ("张三3", "digits"),
        ("张\u0000三", "control"),
        ("张\u200b三", "control"),
        ("张" * 33, "too long"),
        ("张三!", "not allowed"),
        ("·买买提", "separator"),
        ("买买提··艾力", "separator"),
        ("张三 Li", "Chinese name"),
        ("-John", "start and end with a letter"),
        ("김철수", "not allowed"),
    ],
)
def test_invalid_names(raw: str, reason_en: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_name(raw)
    field, _zh, en = field_error(exc)
    assert field == "name"
    assert reason_en in en


# ---------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三明", "张*明"),
        ("张三", "张*"),
        ("李", "*"),
        ("欧阳娜娜", "欧**娜"),
        ("欧阳明", "欧*明"),
        ("买买提·艾力", "买**·*力"),
        ("John Smith", "J*** S****"),
        ("", ""),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_mask_id_number() -> None:
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_id_number("11010519491231002x") == "110***********002X"
    masked = mask_id_number("11010519491231123X")
    assert masked == "110***********123X"  # 3 + 11 stars + 4, as in docs/membership.md
    assert len(masked) == 18


@pytest.mark.parametrize("phone", ["+8613856785678", "13856785678", "138 5678 5678"])
def test_mask_phone(phone: str) -> None:
    assert mask_phone(phone) == "138****5678"


def test_mask_card_number_shows_only_last_four() -> None:
    card = format_card_no(123)
    masked = mask_card_number(card)
    assert masked == "**** **** **** " + card[-4:]
    assert sum(ch.isdigit() for ch in masked) == 4


# ---------------------------------------------------------------- member and card numbers


def test_member_number_round_trip() -> None:
    for seq in (1, 42, 123_456, 9_999_999_999):
        no = format_member_no(seq)
        assert len(no) == 11 and no.isdigit()
        assert int(no[:-1]) == seq
        assert is_valid_member_no(no)
    assert format_member_no(1) == "00000000018"


@pytest.mark.parametrize("seq", [0, -1, 10**10])
def test_member_sequence_out_of_range(seq: int) -> None:
    with pytest.raises(ValueError):
        format_member_no(seq)


@pytest.mark.parametrize("seq", [1, 7, 2024, 31_415_926, 9_876_543_210])
def test_member_number_detects_every_single_digit_error(seq: int) -> None:
    no = format_member_no(seq)
    for pos in range(len(no)):
        for digit in "0123456789":
            if digit != no[pos]:
                assert not is_valid_member_no(no[:pos] + digit + no[pos + 1 :])


def test_member_number_detects_adjacent_swaps() -> None:
    no = format_member_no(31_415_926)
    for i in range(len(no) - 1):
        a, b = no[i], no[i + 1]
        if a != b and {a, b} != {"0", "9"}:  # Luhn's one blind spot
            assert not is_valid_member_no(no[:i] + b + a + no[i + 2 :])


def test_member_number_shape_checks() -> None:
    assert not is_valid_member_no("0000000018 ")
    assert not is_valid_member_no("0000000001")
    assert not is_valid_member_no("００００００００018")
    assert clean_member_no("0000 0000 018") == "00000000018"
    with pytest.raises(ValidationError) as exc:
        clean_member_no("00000000017")
    assert exc.value.errors[0].field == "member_no"


def test_card_number_round_trip_and_errors() -> None:
    no = format_card_no(1)
    assert no == "9123510000000019"
    assert len(no) == 16 and no.startswith(CARD_ISSUER_PREFIX)
    assert is_valid_card_no(no)
    assert clean_card_no("9123 5100 0000 0019") == no
    for pos in range(len(no)):
        bumped = no[:pos] + str((int(no[pos]) + 1) % 10) + no[pos + 1 :]
        assert not is_valid_card_no(bumped)
    # A Luhn-valid 16-digit number with another prefix (a bank card, say) is not our card.
    assert not is_valid_card_no("4111111111111111")
    with pytest.raises(ValueError):
        format_card_no(10**9)
    with pytest.raises(ValidationError):
        clean_card_no("9123510000000018")
