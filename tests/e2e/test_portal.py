"""The open portal as a new visitor uses it, in a real browser on the seeded server: search
in Chinese → facets → dataset → preview → chart → download; a data request and an error
report found on their status pages; an application → decision → key → API call →
revocation. Every page's ``src``/``href`` stays on the server. Screenshots, desktop and
phone width, go to tests/e2e/artifacts/."""

from __future__ import annotations

import codecs
import re
from urllib.parse import urljoin, urlsplit

import httpx

from tests.e2e.conftest import screenshot

AIR = "重庆市城市空气质量日报"
INSURED = "重庆市社会保险参保单位信息"  # conditional, of cq-rsj (approver: cq-rsj-steward)


def dataset_name(server, title: str) -> str:
    found = httpx.get(f"{server.url}/api/v1/open/datasets", params={"q": title}).json()
    return next(item["name"] for item in found["items"] if item["title"] == title)


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_search_facets_dataset_preview_chart_download(page, phone_page, server, tmp_path):
    page.goto("/")
    screenshot(page, "portal-home-desktop")
    page.fill("input[name=q]", "空气质量")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/datasets\?q="))
    assert "检索结果" in page.locator("h1").inner_text()
    page.locator(".facets a", has_text="生态环保").first.click()
    assert page.locator(".facets a.chosen", has_text="生态环保").count() == 1
    screenshot(page, "portal-results-desktop")
    page.locator(".cards a", has_text=AIR).first.click()
    assert page.locator("h1").inner_text() == AIR
    assert page.locator("#preview tbody tr").count() == 10
    assert page.locator("#chart svg polyline").count() == 1
    page.locator("#preview .pager a", has_text="2").first.click()
    assert "第 2 页" in page.locator("#preview").inner_text()
    assert "curl" in page.locator("#api").inner_text()
    screenshot(page, "portal-dataset-desktop")
    with page.expect_download() as download:
        page.locator("#downloads a", has_text="CSV").click()
    saved = tmp_path / "air.csv"
    download.value.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    header, first = raw.decode("utf-8-sig").splitlines()[:2]
    assert "aqi" in header.split(",") and first

    name = dataset_name(server, AIR)
    for path, shot in (("/", "home"), ("/datasets?q=%E7%A9%BA%E6%B0%94", "results"),
                       (f"/datasets/{name}", "dataset"), ("/coverage", "coverage")):
        phone_page.goto(path)
        no_sideways_scroll(phone_page)
        screenshot(phone_page, f"portal-{shot}-phone")


def test_a_data_request_and_an_error_report_on_their_status_pages(page, server):
    page.goto("/requests/new")
    page.click("form.form button[type=submit]")
    assert page.locator("#err-title").inner_text()  # the error beside its field
    assert page.locator("#err-description").inner_text()
    page.fill("#f-title", "公交车实时到站数据")
    page.fill("#f-description", "希望开放主城区公交线路的实时到站数据, 供出行应用使用")
    page.fill("#f-contact_email", "citizen@example.cn")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/requests/\d+$"))
    assert "待答复" in page.content() and "公交车实时到站数据" in page.content()
    assert "citizen@example.cn" not in page.content()
    screenshot(page, "portal-request-status-desktop")
    status_url = page.url
    page.goto("/requests")
    page.locator("a", has_text="公交车实时到站数据").first.click()
    assert page.url == status_url

    page.goto(f"/datasets/{dataset_name(server, AIR)}")
    page.locator("a", has_text="我要纠错").click()
    page.select_option("#f-data_item", "aqi")
    page.fill("#f-record", "1")
    page.fill("#f-description", "第 1 条记录的空气质量指数与当日发布值不一致")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/reports/\d+$"))
    assert "待答复" in page.content() and "空气质量指数与当日发布值不一致" in page.content()
    screenshot(page, "portal-report-status-desktop")


def test_application_decision_key_call_revocation(page, phone_page, server):
    name = dataset_name(server, INSURED)
    page.goto(f"/datasets/{name}")
    page.locator("a", has_text="申请使用").first.click()
    page.wait_for_url(re.compile(r"/account/sign-in"))
    page.goto("/account/sign-up")
    page.fill("#f-email", "researcher@example.cn")
    page.fill("#f-password", "a-long-pass-2026")
    page.fill("#f-name", "陈研究")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/account$"))
    page.goto(f"/datasets/{name}/apply")
    page.fill("#f-purpose", "研究重庆市参保单位的行业分布, 用于学术论文")
    screenshot(page, "portal-apply-desktop")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/account/applications/\d+$"))
    assert "待审核" in page.content()
    number = page.url.rsplit("/", 1)[1]

    token = httpx.post(f"{server.url}/api/v1/auth/token",
                       data={"username": "cq-rsj-steward", "password": "govdata-demo"})
    staff = {"Authorization": f"Bearer {token.json()['access_token']}"}
    decided = httpx.post(f"{server.url}/api/v1/open/provider/applications/{number}/approve",
                         json={"note": "同意用于学术研究"}, headers=staff)
    assert decided.status_code == 200, decided.text

    page.reload()
    assert "已批准" in page.content()
    page.locator("button", has_text="生成 API 密钥").click()
    key = page.locator("#new-key").inner_text().strip()
    assert key.startswith("gdk_")
    screenshot(page, "portal-key-desktop")
    records = f"{server.url}/api/v1/open/datasets/{name}/records"
    assert httpx.get(records).status_code == 403
    assert httpx.get(records, headers={"Authorization": key}).status_code == 200
    page.goto(f"/account/applications/{number}")
    assert key not in page.content()  # shown once
    page.locator("button", has_text="撤销").click()
    assert "已撤销" in page.content()
    refused = httpx.get(records, headers={"Authorization": key})
    assert refused.status_code == 401 and refused.json()["code"] == "api_key_revoked"

    phone_page.goto("/account/sign-in")
    no_sideways_scroll(phone_page)
    screenshot(phone_page, "portal-sign-in-phone")


PAGES = ("/", "/datasets", "/datasets?q=%E4%BF%A1%E7%94%A8", "/coverage", "/developers",
         "/requests", "/requests/new", "/account/sign-in", "/account/sign-up")


def test_every_src_and_href_is_on_the_server(page, server):
    """Every ``src`` and ``href`` of the portal's pages points at this server, and every
    one of them answers there."""
    pages = [*PAGES, f"/datasets/{dataset_name(server, AIR)}",
             f"/datasets/{dataset_name(server, INSURED)}", "/departments/cq-hbj"]
    origin = urlsplit(server.url)[:2]
    links: set[str] = set()
    for path in pages:
        page.goto(path)
        found = page.eval_on_selector_all(
            "[src], [href]", "els => els.map(e => e.getAttribute('src') || e.getAttribute('href'))")
        for value in found:
            absolute = urljoin(page.url, value)
            assert urlsplit(absolute)[:2] == origin, (path, value)
            links.add(absolute.split("#")[0])
    broken = []
    with httpx.Client(timeout=120) as client:
        for url in sorted(links):
            with client.stream("GET", url) as response:  # the status, not whole downloads
                if response.status_code >= 400:
                    broken.append((url, response.status_code))
    assert not broken
