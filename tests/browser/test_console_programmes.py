"""Flow 3: an officer creates a programme, sees a validation error next to the bad field,
fixes it, publishes, and the simulator shows an eligible member."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shot
from tests.support.console import sign_in


def error_of(page: Page, field: str):
    """The error slot next to the input named ``field`` (an engine field path)."""
    return page.locator(f'[id="e-{field}"]')


def test_flow3_create_fix_publish_simulate(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.benefits", "/console/programmes/new")
    page.get_by_label("项目代码").fill("YC-DINE-10")
    page.get_by_label("所属组织（适用于其下会员）").select_option(label="宜昌市总工会")
    page.get_by_label("项目名称").fill("餐饮九折")
    page.get_by_label("优惠方式").select_option("percent_off")
    page.get_by_label("折扣比例（%）").fill("150")  # more than 100 %: the engine refuses it
    page.get_by_label("单笔封顶（元）").fill("20")
    page.get_by_label("餐饮").check()
    page.get_by_label("计量 1").select_option("count")
    page.get_by_label("范围 1").select_option("member")
    page.get_by_label("周期 1").select_option("month")
    page.get_by_label("上限 1").fill("4")
    # Hidden: the other kinds' fields (console-programme.js).
    expect(page.get_by_label("立减金额（元）")).to_be_hidden()
    page.get_by_role("button", name="保存草稿").click()

    expect(error_of(page, "benefit.basis_points")).to_contain_text("100%")
    expect(page.get_by_label("折扣比例（%）")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("项目名称")).to_have_value("餐饮九折")  # nothing typed is lost
    shot(page, "console-programme-validation")

    page.get_by_label("折扣比例（%）").fill("10")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url("**/console/programmes/*")
    expect(page.locator("#programme-status")).to_have_text("草稿")

    page.get_by_role("button", name="发布").click()
    expect(page.get_by_text("已发布，项目已生效。")).to_be_visible()
    expect(page.locator("#programme-status")).to_have_text("进行中")

    member = next(m for m in live.demo["members"] if m["union"].startswith("XL-"))
    sim = page.locator("#simulator")
    sim.get_by_label("会员号").fill(member["member_no"])
    sim.get_by_label("消费金额（元）").fill("88")
    sim.get_by_label("商户类别").select_option("dining")
    sim.get_by_role("button", name="试算").click()
    row = page.locator(".sim-results tr", has_text=member["member_no"])
    expect(row.get_by_text("可享受")).to_be_visible()
    expect(row).to_contain_text("¥8.80")  # 10 % of ¥88
    shot(page, "console-programme-published")


def test_publishing_a_draft_without_scope_shows_the_scope_error(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.benefits", "/console/programmes/new")
    page.get_by_label("项目代码").fill("YC-NOSCOPE")
    page.get_by_label("所属组织（适用于其下会员）").select_option(label="宜昌市总工会")
    page.get_by_label("项目名称").fill("无范围草稿")
    page.get_by_label("折扣比例（%）").fill("5")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url("**/console/programmes/*")
    page.get_by_role("button", name="发布").click()
    expect(error_of(page, "scope")).to_contain_text("商户")
    expect(page.locator("#programme-status")).to_have_text("草稿")


def test_programme_list_and_read_only_role(live: Live, page: Page) -> None:
    sign_in(page, live, "hb.auditor", "/console/programmes")
    expect(page.get_by_role("heading", name="普惠项目")).to_be_visible()
    assert page.locator("table.data tbody tr").count() >= 1
    expect(page.get_by_role("link", name="新建项目")).to_have_count(0)
    page.locator("table.data tbody tr a").first.click()
    expect(page.get_by_role("button", name="保存修改")).to_have_count(0)
    shot(page, "console-programmes")


def programme_url(live: Live, code: str) -> str:
    pid = next(p["id"] for p in live.demo["programs"] if p["code"] == code)
    return f"/console/programmes/{pid}"


def test_budget_in_yuan_and_values_checked_on_save(live: Live, page: Page) -> None:
    """The budget reads in 元 with two decimals; a bad value is refused on save even when
    the "publish as new version" box is not ticked, named in words, not as a field path."""
    sign_in(page, live, "yc.benefits", programme_url(live, "YC-HARDSHIP"))
    expect(page.get_by_label("上限 2")).to_have_value("50000.00")  # 5 000 000 fen
    expect(page.get_by_label("立减金额（元）")).to_have_value("50.00")
    page.get_by_label("上限 1").fill("-3")
    page.get_by_role("button", name="保存修改").click()
    errors = page.locator("#form-errors")
    expect(errors).to_be_visible()
    expect(errors.locator('li[data-field="limits[0].limit"]')).to_contain_text("限额第 1 条")
    expect(errors.locator('li[data-field="new_version"]')).to_be_visible()
    expect(errors).not_to_contain_text("limits[0]")
    shot(page, "console-programme-save-checked")


def test_preview_who_gains_or_loses_before_it_goes_live(live: Live, page: Page) -> None:
    """Untick 农民工 on the live rest-station programme: the preview lists the migrant
    workers who would lose it; nothing is saved."""
    sign_in(page, live, "yc.benefits", programme_url(live, "YC-REST"))
    version = page.locator(".stat", has_text="当前版本").locator(".value").inner_text()
    migrant = page.locator('input[name="eligibility.categories_any"][value="migrant_worker"]')
    expect(migrant).to_be_checked()
    migrant.uncheck()
    page.locator("#diff-button").click()
    expect(page.locator("#diff-summary")).to_contain_text("与现行版本相比")
    lost = int(page.locator("#diff-lost").inner_text())
    assert lost > 0
    assert int(page.locator("#diff-gained").inner_text()) == 0
    expect(page.locator("#diff-lost-members tbody tr")).to_have_count(min(lost, 50))
    expect(page.locator("#diff-lost-members tbody tr").first).to_contain_text("会员类别")
    page.locator("#programme-diff").scroll_into_view_if_needed()
    shot(page, "console-programme-diff")
    # Widening instead: every flexible or migrant worker keeps it, retired members gain it.
    migrant.check()
    page.locator('input[name="eligibility.categories_any"][value="retired"]').check()
    page.locator("#diff-button").click()
    expect(page.locator("#diff-lost")).to_have_text("0")
    expect(page.locator("#diff-lost-members")).to_have_count(0)
    assert int(page.locator("#diff-gained").inner_text()) > 0
    page.reload()
    expect(page.locator(".stat", has_text="当前版本").locator(".value")).to_have_text(version)
    expect(migrant).to_be_checked()
    expect(
        page.locator('input[name="eligibility.categories_any"][value="retired"]')
    ).not_to_be_checked()


def test_orgs_merchants_and_stores_are_picked_by_name(live: Live, page: Page) -> None:
    """No UUID to type: search, pick, see the name as a chip; saved, the names come back."""
    sign_in(page, live, "yc.benefits", programme_url(live, "YC-REST"))
    expect(page.get_by_label("限定组织（可选）")).to_have_attribute("type", "search")
    page.get_by_label("限定组织（可选）").fill("西陵区总")
    page.locator("#results-org").get_by_role("button", name="西陵区总工会").click()
    expect(page.locator("#chips-org .chip")).to_have_count(1)
    expect(page.locator("#chips-org")).to_contain_text("西陵区总工会")
    page.get_by_label("指定门店（可选）").fill("驿家")
    store = page.locator("#results-store").get_by_role("button").first
    expect(store).to_contain_text("解放路站")
    store.click()
    expect(page.locator("#chips-store .chip")).to_have_count(1)
    page.get_by_label("指定商户（可选）").fill("驿家")
    page.locator("#results-merchant").get_by_role("button").first.click()
    page.get_by_label("指定商户（可选）").fill("驿家")  # the same one again: no second chip
    page.locator("#results-merchant").get_by_role("button").first.click()
    expect(page.locator("#chips-merchant .chip")).to_have_count(1)
    shot(page, "console-programme-pickers")
    page.locator("#chips-merchant [data-remove-chip]").click()
    expect(page.locator("#chips-merchant .chip")).to_have_count(0)
    page.get_by_label("作为新版本发布（立即生效）").check()
    page.get_by_role("button", name="保存修改").click()
    page.wait_for_url("**saved=1")
    expect(page.locator("#chips-org")).to_contain_text("西陵区总工会")
    expect(page.locator("#chips-store")).to_contain_text("解放路站")
    expect(page.locator("#chips-merchant .chip")).to_have_count(0)
    shown = page.locator("#programme-form").inner_text()
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", shown), "an id is shown as text"
