"""The union tree edited in the console: a child org made (with a field error first),
renamed, its service-level times set and inherited again, and closed; all audited."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.console import sign_in


def test_create_edit_close_child_org(live: Live, page: Page) -> None:
    sign_in(page, live, "xl.admin", "/console/orgs")
    page.locator("#org-tree").get_by_role("link", name="西陵区总工会").click()
    expect(page.get_by_role("heading", name="西陵区总工会", level=1)).to_be_visible()

    child = page.locator("#org-child")
    child.get_by_label("下级组织名称").fill("西陵区快递行业工会")
    child.get_by_label("组织编码").fill("bad code!")
    child.get_by_label("层级").select_option(label="基层工会")
    child.get_by_role("button", name="新建下级组织").click()
    expect(page.locator('#org-child [id="ce-code"]')).to_contain_text("编码")
    page.locator("#org-child").get_by_label("组织编码").fill("XL-KD-99")
    page.locator("#org-child").get_by_role("button", name="新建下级组织").click()
    expect(page.get_by_role("heading", name="西陵区快递行业工会", level=1)).to_be_visible()
    expect(page.locator(".crumbs")).to_contain_text("西陵区总工会")
    assert no_horizontal_scroll(page)
    shot(page, "console-org-new-child")

    edit = page.locator("#org-edit")
    edit.get_by_label("名称").fill("西陵区快递物流行业工会")
    edit.get_by_role("button", name="保存修改").click()
    expect(page.get_by_role("heading", name="西陵区快递物流行业工会", level=1)).to_be_visible()

    page.get_by_role("link", name="服务时限").click()
    row = page.locator('#service-levels tr[data-kind="legal_aid"]')
    expect(row.locator(".source")).not_to_contain_text("本组织设置")
    row.get_by_label("受理时限").fill("300")
    row.get_by_label("办结时限").fill("100")
    row.get_by_role("button", name="保存").click()
    expect(page.locator("#flash")).to_contain_text("受理时限不能长于办结时限")
    row.get_by_label("受理时限").fill("12")
    row.get_by_role("button", name="保存").click()
    row = page.locator('#service-levels tr[data-kind="legal_aid"]')
    expect(row.locator(".source")).to_contain_text("本组织设置")
    expect(row.get_by_label("受理时限")).to_have_value("12")
    shot(page, "console-org-service-levels")
    row.get_by_role("button", name="恢复沿用").click()
    expect(page.locator('#service-levels tr[data-kind="legal_aid"] .source')).not_to_contain_text(
        "本组织设置"
    )

    page.get_by_role("link", name="西陵区快递物流行业工会").click()
    page.once("dialog", lambda d: d.accept())
    page.get_by_label("撤销原因").fill("并入区总工会")
    page.get_by_role("button", name="撤销组织").click()
    expect(page.locator("#org-status")).to_have_text("已撤销")
    expect(page.locator("#org-close")).to_have_count(0)
    shot(page, "console-org-closed")

    page.goto(live.url + "/console/orgs")
    expect(page.locator("#org-tree")).to_contain_text("西陵区快递物流行业工会")


def test_close_refused_with_open_children(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.admin", "/console/orgs")
    page.locator("#org-tree").get_by_role("link", name="西陵区总工会").click()
    page.once("dialog", lambda d: d.accept())
    page.get_by_label("撤销原因").fill("测试撤销")
    page.get_by_role("button", name="撤销组织").click()
    expect(page.locator("#flash")).to_contain_text("下级组织")
    expect(page.locator("#org-status")).to_have_text("正常")


def test_auditor_sees_no_editing(live: Live, page: Page) -> None:
    sign_in(page, live, "hb.auditor", "/console/orgs")
    page.locator("#org-tree").get_by_role("link", name="宜昌市总工会").click()
    expect(page.get_by_role("heading", name="宜昌市总工会", level=1)).to_be_visible()
    expect(page.locator("#org-edit")).to_have_count(0)
    expect(page.locator("#org-child")).to_have_count(0)
    expect(page.locator("#org-close")).to_have_count(0)
