"""Chinese text uses full-width punctuation: every template, page script and Chinese string
literal in the application's Python packages is scanned (rules in tests/support/punctuation.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.punctuation import fix_text, scan_markup, scan_python, wrong_marks

pytestmark = pytest.mark.only_on("sqlite")

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "cardsvc" / "pages"
PACKAGES = ("cardsvc", "benefits", "merchants")


def _markup() -> list[Path]:
    return sorted(
        [*(PAGES / "templates").rglob("*.html"), *(PAGES / "static" / "js").rglob("*.js")]
    )


def _python() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def test_templates_and_scripts_use_full_width_punctuation() -> None:
    files = _markup()
    assert len(files) > 50  # the scan really looks at the templates
    found = [str(f) for p in files for f in scan_markup(p, ROOT)]
    assert not found, "\n".join(found)


def test_python_messages_use_full_width_punctuation() -> None:
    files = _python()
    assert any(p.name == "i18n.py" for p in files)
    found = [str(f) for p in files for f in scan_python(p, ROOT)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        ("会员和申请人都用手机号登录,无需密码。", ","),
        ("验证码已发送;请查收", ";"),
        ("状态:有效", ":"),
        ("确定离会吗?", "?"),
        ("谢谢!", "!"),
        ("消费金额(元)", "()"),
        ("老街面馆(解放路店)", "()"),
        ("（含已撤销)", ")"),  # half-fixed pairs are caught at the ASCII end
        ("验证码 {code},{minutes} 分钟内有效", ","),  # through placeholders
        ('{{ t("状态:", "Status:") }}', ":"),
        ("已选 {{ n }} 个,请确认", ","),
        ("{% if x %}已撤销{% endif %}:原因", ":"),
        ("会员状态无效(已暂停、待审核或已离会),不能享受", "(),"),
    ],
)
def test_the_scan_catches_ascii_marks_in_chinese(text: str, marks: str) -> None:
    assert "".join(text[i] for i in wrong_marks(text)) == marks
    assert not wrong_marks(fix_text(text))


@pytest.mark.parametrize(
    "text",
    [
        "Members sign in with a phone: no password.",
        '{{ t("手机号", "Phone number") }}',  # Jinja code between strings
        "/m/login?next=/m/card",
        "https://example.org/a?b=1,2 说明",
        "金额 {amount:,} 元",  # a Python format field
        "Suspend a card (挂失): refused until resumed",  # English glossing a Chinese term
        "请于 10:30 前到达",  # digits both sides
        "会员卡（UnionCard）",
    ],
)
def test_the_scan_leaves_code_and_english_alone(text: str) -> None:
    assert wrong_marks(text) == []


def test_the_scan_fails_on_a_bad_template_and_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<p>{{ t("确认离会?此操作不可撤销", "Leave?") }}</p>\n', encoding="utf-8")
    assert [(f.line, f.mark) for f in scan_markup(bad, tmp_path)] == [(1, "?")]
    src = tmp_path / "bad.py"
    src.write_text(
        '"""Docstrings are not messages: 例如,这里."""\n'
        "import re\n"
        'PATTERN = re.compile(r"[(（]必填[)）]")\n'
        'raise AppError("x", "额度已用完,请下月再来", "Used up")\n'
        'msg = f"第{row}行:格式错误"\n',
        encoding="utf-8",
    )
    assert sorted((f.line, f.mark) for f in scan_python(src, tmp_path)) == [(4, ","), (5, ":")]
