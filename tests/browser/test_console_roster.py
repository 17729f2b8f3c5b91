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
    expect(page.locator("#import-counts")).to_contain_text("3")
    expect(page.locator("#error-rows")).to_have_text("2")
    errors = page.locator("#row-errors tbody tr")
    expect(errors.first).to_be_visible()
    rows = {int(r) for r in errors.evaluate_all("rows => rows.map(r => r.dataset.row)")}
    assert rows == {5, 6}, rows
    expect(page.locator('#row-errors tr[data-row="5"]')).to_contain_text("身份证")
    shot(page, "console-roster-result")
    # The list shows the import with its counts.
    page.get_by_role("link", name="返回").click()
    expect(page.get_by_role("link", name="xl-roster.csv")).to_be_visible()
