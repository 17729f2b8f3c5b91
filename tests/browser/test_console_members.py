"""Member search (masked) and detail with the audited reveal; the union tree."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, shot
from tests.support.console import sign_in


def test_member_search_is_masked_and_reveal_is_audited(live: Live, page: Page) -> None:
    member = next(m for m in live.demo["members"] if m["union"].startswith("XL-"))
    sign_in(page, live, "xl.admin", "/console/members")
    rows = page.locator("#members tbody tr")
    expect(rows.first).to_be_visible()
    for text in rows.locator("td:nth-child(3)").all_inner_texts()[:10]:
        assert re.fullmatch(r"\d{3}\*{11}[\dX]{4}", text.strip()), text
    shot(page, "console-members")
    page.get_by_label("会员号").fill(member["member_no"])
    page.get_by_role("button", name="查询").click()
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link", name=member["name"]).click()
    expect(page.get_by_role("heading", name=member["name"])).to_be_visible()
    page.get_by_role("button", name="查看完整信息（将记录审计）").click()
    expect(page.locator("#plain-id")).to_have_text(re.compile(r"^\d{17}[\dX]$"))
    shot(page, "console-member")
    # The reveal is in the audit log (read as the federation auditor through the API).
    page.context.clear_cookies()
    sign_in(page, live, "hb.auditor")
    audit = page.request.get(live.url + "/api/v1/audit?action=member.unmask").json()
    assert any(e["actor_name"] for e in audit["items"]), audit


def test_auditor_sees_masked_members_without_reveal(live: Live, page: Page) -> None:
    sign_in(page, live, "hb.auditor", "/console/members")
    page.locator("#members tbody tr a").first.click()
    expect(page.get_by_role("button", name="查看完整信息（将记录审计）")).to_have_count(0)


def test_union_tree_with_member_counts(live: Live, page: Page) -> None:
    sign_in(page, live, "yc.admin", "/console/orgs")
    tree = page.locator("#org-tree")
    expect(tree.get_by_role("link", name="宜昌市总工会")).to_be_visible()
    expect(tree.get_by_role("link", name="西陵区总工会")).to_be_visible()
    expect(tree.get_by_role("link", name="湖北省总工会")).to_have_count(0)  # above the scope
    shot(page, "console-orgs")
    tree.get_by_role("link", name="西陵区总工会").click()
    expect(page.get_by_role("heading", name="西陵区总工会")).to_be_visible()
    page.get_by_role("link", name="查看会员").click()
    expect(page.locator("#members tbody tr").first).to_be_visible()
