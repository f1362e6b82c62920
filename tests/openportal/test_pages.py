"""The portal's pages over HTTP (the browser flows are in tests/e2e/test_portal.py): every
form refuses a post without its CSRF token, refusals show beside their fields in Chinese,
conditional data shows no preview, and the pages need no account."""

from __future__ import annotations

import re

import pytest

from tests.openportal.test_no_personal_data import all_routes

from .conftest import name_of

HTML = {"accept": "text/html"}


def csrf(api, path: str = "/requests/new") -> str:
    page = api.get(path, headers=HTML)
    assert page.status_code == 200, page.text[:500]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def page_posts(app) -> list[str]:
    return sorted({route.path for route in all_routes(app.routes)
                   if "POST" in getattr(route, "methods", ()) and not
                   route.path.startswith(("/api", "/datastore"))
                   and route.path.split("/")[1] in ("account", "datasets", "requests")})


def test_every_form_refuses_a_post_without_its_csrf_token(app, api, air):
    posts = page_posts(app)
    assert "/requests" in posts and "/account/sign-in" in posts
    for path in posts:
        concrete = re.sub(r"\{name\}", name_of(air), re.sub(r"\{\w+_id\}", "1", path))
        response = api.post(concrete, data={"title": "x"}, headers=HTML)
        assert response.status_code == 403, (path, response.status_code)
        assert "CSRF" in response.text


def test_form_errors_show_beside_their_fields(api):
    token = csrf(api)
    refused = api.post("/requests", headers=HTML, data={
        "csrf_token": token, "title": "", "description": "短", "contact_email": "no"})
    assert refused.status_code == 422
    for field in ("title", "description", "contact_email"):
        assert re.search(rf'id="err-{field}">[^<]+<', refused.text), field
    made = api.post("/requests", headers=HTML, follow_redirects=False, data={
        "csrf_token": token, "title": "公交实时到站数据",
        "description": "希望开放公交线路的实时到站数据, 用于出行应用"})
    assert made.status_code == 303
    status = api.get(made.headers["location"], headers=HTML)
    assert "待答复" in status.text and "公交实时到站数据" in status.text


@pytest.mark.parametrize("path", ["/", "/datasets", "/coverage", "/developers", "/requests",
                                  "/account/sign-up", "/account/sign-in"])
def test_pages_need_no_account(api, air, path):
    response = api.get(path, headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in response.text


def test_a_conditional_dataset_page_shows_no_data_and_offers_an_application(api, make_dataset):
    conditional = make_dataset(name="重庆市有条件开放监测数据", open_type="conditional")
    page = api.get(f"/datasets/{name_of(conditional)}", headers=HTML)
    assert page.status_code == 200
    assert 'id="preview"' not in page.text and "/download" not in page.text
    assert f"/datasets/{name_of(conditional)}/apply" in page.text
    apply = api.get(f"/datasets/{name_of(conditional)}/apply", headers=HTML,
                    follow_redirects=False)
    assert apply.status_code == 303
    assert apply.headers["location"].startswith("/account/sign-in?next=")
