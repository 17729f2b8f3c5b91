"""Staff accounts in the console: a district admin creates an account (a field error first),
grants it a second role, resets its password (the new one signs in), revokes the role and
disables the account (it can no longer sign in)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.console import sign_in


def _signs_in(live: Live, username: str, password: str) -> bool:
    resp = httpx.post(
        live.url + "/api/v1/staff/session", json={"username": username, "password": password}
    )
    return resp.status_code == 200


def test_create_grant_reset_revoke_disable(live: Live, page: Page) -> None:
    sign_in(page, live, "xl.admin", "/console")
    page.get_by_role("link", name="工作人员账号").click()
    expect(page.locator("#staff-users")).to_contain_text("xl.jidian")

    form = page.locator("#staff-form")
    form.get_by_label("用户名").fill("xl.helper")
    form.get_by_label("姓名").fill("西陵区工会 王芳")
    form.get_by_label("初始密码").fill("short")
    form.get_by_label("角色").select_option(label="工会管理员")
    form.get_by_label("所在组织").select_option(label="宜昌峡江机电有限公司工会")
    form.get_by_role("button", name="创建账号").click()
    expect(page.locator('#staff-form [id="e-password"]')).to_contain_text("10")
    shot(page, "console-staff-validation")
    form = page.locator("#staff-form")
    form.get_by_label("初始密码").fill("Helper-Start-2026")
    form.get_by_label("角色").select_option(label="工会管理员")
    form.get_by_label("所在组织").select_option(label="宜昌峡江机电有限公司工会")
    form.get_by_role("button", name="创建账号").click()
    expect(page.get_by_role("heading", name="西陵区工会 王芳")).to_be_visible()
    assert _signs_in(live, "xl.helper", "Helper-Start-2026")

    page.get_by_label("授予角色").select_option(label="工会管理员")
    page.get_by_label("组织", exact=True).select_option(label="西陵区总工会")
    page.get_by_role("button", name="授予", exact=True).click()
    expect(page.locator("#staff-grants tbody tr")).to_have_count(2)

    page.get_by_label("新密码").fill("Helper-New-2026!")
    page.get_by_role("button", name="设置新密码").click()
    expect(page.get_by_text("新密码已生效")).to_be_visible()
    assert not _signs_in(live, "xl.helper", "Helper-Start-2026")
    assert _signs_in(live, "xl.helper", "Helper-New-2026!")
    assert no_horizontal_scroll(page)
    shot(page, "console-staff-user")

    page.once("dialog", lambda d: d.accept())
    page.locator("#staff-grants tbody tr", has_text="西陵区总工会").get_by_role(
        "button", name="收回"
    ).click()
    expect(page.locator("#staff-grants tbody tr")).to_have_count(1)
    # The last role is not revoked: the account is disabled instead.
    page.once("dialog", lambda d: d.accept())
    page.locator("#staff-grants").get_by_role("button", name="收回").click()
    expect(page.locator("#flash")).to_contain_text("唯一的角色")

    page.once("dialog", lambda d: d.accept())
    page.get_by_label("停用原因").fill("调离岗位")
    page.get_by_role("button", name="停用账号").click()
    expect(page.locator("#staff-status")).to_have_text("已停用")
    assert not _signs_in(live, "xl.helper", "Helper-New-2026!")
    shot(page, "console-staff-disabled")
    page.get_by_role("button", name="重新启用").click()
    expect(page.locator("#staff-status")).to_have_text("启用")


def test_accounts_above_me_are_not_mine(live: Live, page: Page) -> None:
    sign_in(page, live, "xl.admin", "/console/staff")
    expect(page.locator("#staff-users")).not_to_contain_text("yc.admin")
    page.goto(live.url + "/console/staff")
    page.get_by_role("link", name="xl.admin").click()
    expect(page.locator("#disable-form")).to_have_count(0)  # not one's own account


def test_roles_without_staff_manage_are_refused(live: Live, page: Page) -> None:
    sign_in(page, live, "hb.auditor", "/console")
    expect(page.get_by_role("link", name="工作人员账号")).to_have_count(0)
    page.goto(live.url + "/console/staff")
    expect(page.get_by_text("您的角色无权管理工作人员账号")).to_be_visible()
