"""The shared layout in a real browser: Chinese error pages, CSS from the server only, phone
width without sideways scrolling."""

from __future__ import annotations

from tests.e2e.conftest import screenshot


def test_error_page_is_a_styled_chinese_page_from_the_server_only(page, server):
    response = page.goto("/static/web/nothing-here.css")
    assert response.status == 404
    page.goto("/no-such-page")
    assert page.locator("h1").inner_text() == "页面不存在"
    assert "返回首页" in page.content()
    background = page.evaluate(
        "getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    assert background == "rgb(31, 95, 168)"  # base.css was loaded and applied
    assert any(url.endswith("/static/web/base.css") for url in page.requests)
    screenshot(page, "web-error-desktop")


def test_phone_width_has_no_sideways_scroll(phone_page):
    phone_page.goto("/no-such-page")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(phone_page, "web-error-phone")
