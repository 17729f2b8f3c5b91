"""My benefits and history (the member half of flow 2): a shop redeems the code the card page
shows, through the merchant API, and the benefits page shows one fewer left; used up, it says
so; the history lists both; and the pages switch to English."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live, no_horizontal_scroll, shot
from tests.support.member_steps import idem, program_id, read_qr, sign_in, terminal


def _left(page: Page, code: str) -> int:
    n = page.locator(f'[data-code="{code}"] .m-left-n').get_attribute("data-remaining")
    assert n is not None
    return int(n)


def _code_on_card(live: Live, page: Page) -> str:
    page.goto(live.url + "/m/card")
    expect(page.get_by_text("秒后自动刷新")).to_be_visible()
    return read_qr(page)


def test_redeeming_shows_one_fewer_left_and_history(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    member = live.demo["members"][0]
    sign_in(page, live, member["phone"])
    page.goto(live.url + "/m/benefits")
    cinema = page.locator('[data-code="YC-CINEMA"]')
    expect(cinema.get_by_role("heading", name="职工观影补贴")).to_be_visible()
    expect(cinema.get_by_text("本月剩余")).to_be_visible()
    tickets = _left(page, "YC-CINEMA")
    checkups = _left(page, "YC-HEALTH")
    assert tickets >= 1 and checkups == 1
    shot(page, "member-benefits-before")

    till, shop = terminal(live, "cinema")
    r = till.post(
        "/api/v1/redemptions",
        headers=idem(),
        json={
            "code": _code_on_card(live, page),
            "program_id": program_id(live, "YC-CINEMA"),
            "amount_fen": 4500,
            "units": 1,
        },
    )
    assert r.status_code == 201, r.text
    page.goto(live.url + "/m/benefits")
    assert _left(page, "YC-CINEMA") == tickets - 1
    expect(page.locator('[data-code="YC-CINEMA"] .m-left-n')).to_have_text(f"{tickets - 1} 份")

    # The yearly health check: one, then none left this year.
    clinic, _ = terminal(live, "health")
    r = clinic.post(
        "/api/v1/redemptions",
        headers=idem(),
        json={
            "code": _code_on_card(live, page),  # a fresh code: the first one was used
            "program_id": program_id(live, "YC-HEALTH"),
            "amount_fen": 30000,
            "units": 1,
        },
    )
    assert r.status_code == 201, r.text
    page.goto(live.url + "/m/benefits")
    health = page.locator('[data-code="YC-HEALTH"]')
    assert _left(page, "YC-HEALTH") == 0
    expect(health.get_by_text("本期已用完")).to_be_visible()
    assert no_horizontal_scroll(page)
    shot(page, "member-benefits-after")

    page.get_by_role("link", name="记录", exact=True).click()
    page.wait_for_url(live.url + "/m/history")
    rows = page.locator("#history > li")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("职工年度健康体检")
    expect(rows.nth(1)).to_contain_text("职工观影补贴")
    expect(rows.nth(1)).to_contain_text(shop["merchant"])
    expect(rows.nth(1)).to_contain_text("¥45.00")
    assert no_horizontal_scroll(page)
    shot(page, "member-history")


def test_pages_in_english(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live, live.demo["members"][0]["phone"])
    page.goto(live.url + "/m/benefits")
    page.get_by_role("link", name="English").click()
    page.wait_for_url(live.url + "/m/benefits")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="My benefits")).to_be_visible()
    expect(page.locator('[data-code="YC-CINEMA"]').get_by_text("Left this month")).to_be_visible()
    expect(page.get_by_role("navigation", name="Member menu")).to_contain_text("Card")
    assert no_horizontal_scroll(page)
    shot(page, "member-benefits-en")
    page.get_by_role("link", name="Card", exact=True).click()
    expect(page.get_by_text("Refreshes in")).to_be_visible()
    expect(page.get_by_text("Card number")).to_be_visible()
    assert no_horizontal_scroll(page)
    shot(page, "member-card-en")
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_text("秒后自动刷新")).to_be_visible()


def test_card_page_says_redeemed_and_benefits_show_the_year_saving(live: Live, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 780})
    member = live.demo["members"][0]
    sign_in(page, live, member["phone"])
    page.goto(live.url + "/m/benefits")
    savings = page.locator("#savings")
    expect(savings).to_contain_text("年已为您节省")
    before = int(
        page.locator("#savings strong")
        .inner_text()
        .replace("¥", "")
        .replace(",", "")
        .replace(".", "")
    )
    shot(page, "member-benefits-savings-before")

    # At the till: the page that shows the code is the one that learns it was used.
    code = _code_on_card(live, page)
    expect(page.locator(".m-redeemed")).to_have_count(0)
    till, _ = terminal(live, "cinema")
    r = till.post(
        "/api/v1/redemptions",
        headers=idem(),
        json={
            "code": code,
            "program_id": program_id(live, "YC-CINEMA"),
            "amount_fen": 4500,
            "units": 1,
        },
    )
    assert r.status_code == 201, r.text
    saved = r.json()["discount_fen"]
    assert saved > 0
    notice = page.locator(".m-redeemed")
    expect(notice).to_contain_text("核销成功", timeout=10_000)  # no reload: it polls
    expect(notice).to_contain_text(f"本次节省 ¥{saved // 100}.{saved % 100:02d}")
    expect(notice).to_contain_text("职工观影补贴")
    assert no_horizontal_scroll(page)
    shot(page, "member-card-redeemed")

    page.goto(live.url + "/m/benefits")
    after = int(
        page.locator("#savings strong")
        .inner_text()
        .replace("¥", "")
        .replace(",", "")
        .replace(".", "")
    )
    assert after == before + saved
    shot(page, "member-benefits-savings-after")
