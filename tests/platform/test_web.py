"""The shared web layer through HTTP: pages, CSRF, form errors, HTML error pages, static
files, and the SVG charts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Form, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field, ValidationError

from govdata.main import create_app
from govdata.platform import web
from govdata.platform.errors import RuleViolation
from govdata.platform.web.charts import bar_chart, line_chart, nice_ceiling

HTML = {"Accept": "text/html,application/xhtml+xml"}
PAGE = """{% extends "web/base.html" %}{% import "web/forms.html" as f with context %}
{% block content %}<form method="post" class="stack">{{ f.csrf() }}{{ f.general(errors) }}
{{ f.input("name", "名称", values, errors, required=True) }}
{{ f.input("items.0.title", "中文名称", values, errors) }}
<button>提交</button></form>{% endblock %}"""


class NameForm(BaseModel):
    name: str = Field(min_length=1, max_length=10)
    size: int


def page_router() -> APIRouter:
    router = APIRouter(prefix="/testpages", dependencies=[Depends(web.csrf_protect)])
    template = web.templates().from_string(PAGE)

    @router.get("/form")
    def form(request: Request):
        return web.render(request, template, {"values": {}, "errors": web.FormErrors()})

    @router.post("/form")
    def submit(request: Request, name: Annotated[str, Form()] = ""):
        if name == "坏":
            error = RuleViolation("信息资源不符合编目规则", errors=[
                {"loc": ["items", 0, "title"], "msg": "信息项中文名称为必填项", "code": "x"}])
            return web.render(request, template, {"values": {"name": name},
                                                  "errors": web.form_errors(error)}, status=422)
        return web.render(request, template, {"values": {"name": name}, "errors": {},
                                              "message": f"已保存 {name}"})

    @router.get("/away")
    def away():
        raise web.Redirect("/testpages/form")

    return router


@pytest.fixture
def pages(settings, database) -> TestClient:
    app = create_app(settings, database=database)
    app.include_router(page_router())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_a_page_renders_the_layout_and_sets_the_csrf_cookie(pages):
    response = pages.get("/testpages/form")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in response.text
    assert 'href="/static/web/base.css"' in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    cookie = response.headers["set-cookie"]
    assert "govdata_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; Secure when served over HTTPS
    assert csrf_token(response.text).startswith(pages.cookies["govdata_csrf"] + ".")


def test_a_form_posted_with_its_token_is_accepted(pages):
    token = csrf_token(pages.get("/testpages/form").text)
    response = pages.post("/testpages/form", data={"csrf_token": token, "name": "空气"},
                          headers=HTML)
    assert response.status_code == 200
    assert "已保存 空气" in response.text
    assert pages.post("/testpages/form", data={"name": "x"},
                      headers={"X-CSRF-Token": token}).status_code == 200


@pytest.mark.parametrize("tamper", ["none", "forged", "other_cookie"])
def test_a_form_without_a_valid_token_is_a_403_page(pages, tamper):
    token = csrf_token(pages.get("/testpages/form").text)
    data = {"name": "空气"}
    if tamper == "forged":
        data["csrf_token"] = token.rpartition(".")[0] + "." + "0" * 64
    if tamper == "other_cookie":
        data["csrf_token"] = token
        pages.cookies.set("govdata_csrf", "A" * 43)
    response = pages.post("/testpages/form", data=data, headers=HTML)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "表单已失效" in response.text
    api = pages.post("/testpages/form", data=data)
    assert api.status_code == 403 and api.json()["code"] == "csrf_failed"


def test_rule_errors_are_shown_next_to_their_field(pages):
    token = csrf_token(pages.get("/testpages/form").text)
    response = pages.post("/testpages/form", data={"csrf_token": token, "name": "坏"},
                          headers=HTML)
    assert response.status_code == 422
    field = re.search(r'<div class="field has-error">(.*?)</div>', response.text, re.S).group(1)
    assert 'id="f-items-0-title"' in field and 'aria-invalid="true"' in field
    assert "信息项中文名称为必填项" in field


def test_pydantic_errors_become_chinese_messages_per_field():
    with pytest.raises(ValidationError) as caught:
        NameForm.model_validate({"name": "", "size": "十"})
    errors = web.form_errors(caught.value)
    assert errors == {"name": "此项不能为空", "size": "必须是整数"}
    general = web.form_errors(RuleViolation("资源已发布, 不能修改"))
    assert general.general == ["资源已发布, 不能修改"]


def test_browser_routes_get_html_error_pages_and_the_api_keeps_problem_json(pages):
    page = pages.get("/no-such-page", headers=HTML)
    assert page.status_code == 404 and "页面不存在" in page.text
    assert "返回首页" in page.text
    api = pages.get("/api/v1/no-such-thing", headers=HTML)
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    assert pages.get("/no-such-page").headers["content-type"] == "application/problem+json"
    unauthorised = pages.get("/api/v1/auth/me", headers=HTML)
    assert unauthorised.json()["code"] == "token_missing"


def test_a_redirect_signal_sends_the_browser_on(pages):
    response = pages.get("/testpages/away", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/testpages/form"


def test_static_files_come_from_the_package_and_nothing_else(pages):
    css = pages.get("/static/web/base.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "http" not in css.text  # no font or image fetched from elsewhere
    for path in ("/static/web/../csrf.py", "/static/web/%2e%2e/csrf.py", "/static/nope/x.css",
                 "/static/..%2fplatform/settings.py", "/static/web/missing.css"):
        assert pages.get(path).status_code == 404, path


def _svg(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def test_bar_chart_draws_one_bar_per_value_with_chinese_labels():
    svg = _svg(bar_chart(["环保局", "民政局", "<script>"], {"按时": [3, 5, 0], "逾期": [1, 0, 2]},
                         title="按时答复与逾期", unit="件"))
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert len(svg.findall("s:rect", ns)) == 6 + 2  # bars and the two legend keys
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "按时答复与逾期" in texts and "环保局" in texts and "<script>" in texts
    assert "<script>" not in str(bar_chart(["<script>"], {"a": [1]}, title="t"))


def test_line_chart_scales_to_a_round_maximum():
    markup = line_chart(["1月", "2月", "3月"], {"中位答复天数": [2, 7.5, 4]}, title="答复时间")
    svg = _svg(markup)
    points = svg.find("{http://www.w3.org/2000/svg}polyline").get("points").split()
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[1] < ys[2] < ys[0]  # higher values are drawn higher
    assert nice_ceiling(7.5) == 10 and nice_ceiling(0) == 1 and nice_ceiling(230) == 250
    with pytest.raises(ValueError):
        line_chart(["1月"], {"a": [1, 2]}, title="t")


def test_long_axis_labels_are_wrapped_or_shrunk_never_clipped():
    from govdata.platform.web.charts import LEFT, RIGHT, WIDTH, text_width

    labels = ["全平台现状", "重庆市目标 50%", "沈阳市促进大数据发展三年行动计划", "深圳市目标 80%",
              "一个非常非常非常长的部门名称标签"]
    svg = _svg(bar_chart(labels, {"覆盖率": [69, 50, 50, 80, 10]}, title="覆盖率"))
    slot = (WIDTH - LEFT - RIGHT) / len(labels)
    drawn = {}
    for text in svg.iter("{http://www.w3.org/2000/svg}text"):
        spans = text.findall("{http://www.w3.org/2000/svg}tspan")
        lines = [s.text for s in spans] if spans else [text.text]
        size = float(text.get("font-size"))
        x = float(text.get("x"))
        drawn["".join(lines)] = (x, size, max(text_width(line, size) for line in lines))
    for label in labels:
        assert label.replace(" ", "") in {k.replace(" ", "") for k in drawn}, label
        x, size, width = next(v for k, v in drawn.items()
                              if k.replace(" ", "") == label.replace(" ", ""))
        assert width <= slot and width / 2 <= x <= WIDTH - width / 2, label
    # a line chart's first and last labels stay inside the chart too
    line = _svg(line_chart(["2024年度", "2025年度", "2026年度"], {"a": [1, 2, 3]}, title="t"))
    for text in line.iter("{http://www.w3.org/2000/svg}text"):
        if text.text and "年度" in text.text:
            half = text_width(text.text, float(text.get("font-size"))) / 2
            assert half <= float(text.get("x")) <= WIDTH - half
