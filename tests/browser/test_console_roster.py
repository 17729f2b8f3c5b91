"""Flow 4: an officer imports a roster with errors, sees the progress bar reach 100 % and the
per-row errors."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shot
from tests.support.console import resident_id, sign_in

HEADER = "姓名,身份证号,手机号,所属工会编码,就业形态,工作单位,岗位,会员类别,困难等级,入会日期"


def roster_csv() -> bytes:
    good = [
        f"导入甲,{resident_id('42050219880303101')},13700000001,XL-JIDIAN,,宜昌峡江机电有限公司,焊工,,,",
        f"导入乙,{resident_id('42050219900404202')},13700000002,XL-JIDIAN,,宜昌峡江机电有限公司,普工,,,",
        f"导入丙,{resident_id('42050219920505303')},,XL-JIDIAN,,,,,,",
    ]
    bad = [
        "错号丁,420502199001011234,13700000004,XL-JIDIAN,,,,,,",  # wrong check character
        f"外单位戊,{resident_id('42050219930606404')},13700000005,NO-SUCH-UNION,,,,,,",
    ]
    # rows 2–4 are good, rows 5 and 6 have errors (row 1 is the header)
    return ("\n".join([HEADER, *good, *bad]) + "\n").encode("utf-8")


def test_flow4_import_with_errors_progress_and_row_report(live: Live, page: Page) -> None:
    sign_in(page, live, "xl.admin", "/console/roster")
    page.get_by_label("名册文件").set_input_files(
        {"name": "xl-roster.csv", "mimeType": "text/csv", "buffer": roster_csv()}
    )
    shot(page, "console-roster")
    page.get_by_role("button", name="上传并导入").click()
    page.wait_for_url("**/console/roster/*")

    bar = page.locator("progress#import-bar")
    expect(bar).to_have_attribute("value", "100", timeout=30_000)
    expect(page.locator("#import-percent")).to_have_text("100 %")
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "succeeded")
    # Some rows failed: an amber "partly imported", not a green 已完成.
    expect(page.locator("#import-progress")).to_have_attribute("data-outcome", "partial")
    expect(page.locator("#import-outcome")).to_have_text("部分导入，有错误行")
    expect(page.locator("#import-outcome")).to_have_class("badge big warn")
    expect(page.locator("#import-counts")).to_contain_text("3")
    expect(page.locator("#error-rows")).to_have_text("2")
    expect(page.locator("#error-groups tbody tr")).to_have_count(2)
    page.get_by_text("逐行明细").click()
    errors = page.locator("#row-errors tbody tr")
    expect(errors.first).to_be_visible()
    rows = {int(r) for r in errors.evaluate_all("rows => rows.map(r => r.dataset.row)")}
    assert rows == {5, 6}, rows
    expect(page.locator('#row-errors tr[data-row="5"]')).to_contain_text("身份证")
    shot(page, "console-roster-result")
    # The list shows the import with its counts.
    page.get_by_role("link", name="返回").click()
    expect(page.get_by_role("link", name="xl-roster.csv")).to_be_visible()
    expect(page.locator('tr[data-outcome="partial"] .badge')).to_have_text("部分导入，有错误行")


def upload(page: Page, body: bytes, name: str, dry_run: bool = False) -> None:
    page.goto(page.url.split("/console")[0] + "/console/roster")
    page.get_by_label("名册文件").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": body}
    )
    if dry_run:
        page.get_by_label("仅检查，不写入（试运行）").check()
    page.get_by_role("button", name="上传并导入").click()
    page.wait_for_url("**/console/roster/*")
    expect(page.locator("progress#import-bar")).to_have_attribute("value", "100", timeout=30_000)


def test_every_row_failed_is_a_failure_grouped_by_reason(live: Live, page: Page) -> None:
    """100 rows with the same wrong union code: red, "nothing imported", one line of 100."""
    sign_in(page, live, "xl.admin", "/console/roster")
    rows = [
        f"坏行,{resident_id(f'4205021990{i // 28 + 1:02d}{i % 28 + 1:02d}5{i % 100:02d}')},,NO-SUCH,,,,,,"
        for i in range(100)
    ]
    upload(page, ("\n".join([HEADER, *rows]) + "\n").encode(), "all-bad.csv")
    expect(page.locator("#import-progress")).to_have_attribute("data-outcome", "none_imported")
    expect(page.locator("#import-outcome")).to_have_text("全部行有错误，未导入")
    expect(page.locator("#import-outcome")).to_have_class("badge big err")
    expect(page.get_by_text("已完成")).to_have_count(0)
    groups = page.locator("#error-groups tbody tr")
    expect(groups).to_have_count(1)
    expect(groups.first.locator("[data-count]")).to_have_text("100")
    expect(groups.first).to_contain_text("NO-SUCH")
    # The hundred rows are one click away, not a hundred identical lines on the page.
    expect(page.locator("#row-errors tbody tr").first).not_to_be_visible()
    shot(page, "console-roster-all-failed")


def test_dry_run_with_errors_does_not_say_all_is_well(live: Live, page: Page) -> None:
    sign_in(page, live, "xl.admin", "/console/roster")
    upload(page, roster_csv(), "check.csv", dry_run=True)
    expect(page.locator("#import-progress")).to_have_attribute(
        "data-outcome", "checked_with_errors"
    )
    expect(page.locator("#import-outcome")).to_contain_text("检查发现错误")
    expect(page.get_by_text("检查无误")).to_have_count(0)
    expect(page.locator("#apply-import")).to_have_text("跳过错误行，导入其余 3 行")
    shot(page, "console-roster-dry-run-errors")
    page.once("dialog", lambda d: d.accept())
    page.locator("#apply-import").click()
    page.wait_for_url("**/console/roster/*")
    expect(page.locator("#import-progress")).to_have_attribute(
        "data-outcome", "partial", timeout=30_000
    )
