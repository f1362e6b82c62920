"""Catalog search: Chinese and English, ranked, faceted — and the same rows in the same
order on SQLite and on PostgreSQL (this module runs in both passes with exact answers).

The database is not assumed empty: another department's resources matching the same
words exist first (``OTHERS``), and the answers are checked on this module's departments
(``names``, ``total``, ``facets`` below)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from govdata.catalog import search, service, textindex
from govdata.catalog.models import Resource
from tests.catalog import fields, item, steward

API = "/api/v1/catalog/resources"


def test_tokens():
    assert textindex.tokens("空气质量") == ["空", "空气", "气", "气质", "质", "质量", "量"]
    assert textindex.tokens("PM2.5 浓度, Air-Quality") == ["pm2", "5", "浓", "浓度", "度", "air",
                                                      "quality"]
    assert textindex.tokens("ＡＱＩ指数") == ["aqi", "指", "指数", "数"]
    assert textindex.query_tokens("空气质量 法") == ["空气", "气质", "质量", "法"]
    assert textindex.query_tokens("Credit  信用") == ["credit", "信用"]
    assert textindex.query_tokens("！？") == []


def test_search_text_sections():
    text = textindex.search_text(name="空气日报", item_titles=["空气质量指数"], tags=["aqi"],
                              summary="每日发布", department_name="生态环境局")
    name, rest = text.split(textindex.NAME_MARK)
    items, other = rest.split(textindex.ITEM_MARK)
    assert "空气" in name.split() and "空气" not in items.split()
    assert "aqi" in items.split() and "质量" in items.split()
    assert "生态" in other.split()


def test_name_sort_is_pinyin():
    names = ["重庆市人口信息", "安全生产许可", "阿坝州统计", "北京", "长江水文", "Zeta 数据"]
    ordered = sorted(names, key=textindex.name_sort)
    assert ordered == ["阿坝州统计", "安全生产许可", "北京", "长江水文", "重庆市人口信息",
                       "Zeta 数据"]
    assert textindex.name_sort("重庆") == "chong2 qing4"


CATALOG = [
    # (department, name, summary, item titles, tags, extra fields)
    ("env", "城市空气质量日报", "全市监测站点每日空气质量", ["监测站点", "空气质量指数"], ["aqi"],
     {"theme": "生态环保", "open_type": "unconditional", "update_cycle": "每日"}),
    ("env", "空气污染源清单", "重点排污单位名录", ["单位名称", "排放量"], [],
     {"update_cycle": "每年"}),
    ("env", "水环境质量月报", "地表水断面水质, 含空气对照", ["断面名称", "水质类别"], [],
     {"update_cycle": "每月", "open_type": "unconditional"}),
    ("credit", "企业信用信息", "企业公共信用信息汇总", ["统一社会信用代码", "信用等级"],
     ["credit"], {"theme": "信用体系", "share_type": "conditional", "share_condition": "仅限监管"}),
    ("credit", "失信被执行人名单", "法院公布的失信被执行人, 用于信用联合惩戒",
     ["姓名", "公民身份号码"], ["credit", "blacklist"], {"theme": "信用体系"}),
    ("market", "法人单位基础信息", "法人登记基础信息", ["统一社会信用代码", "法定代表人"], [],
     {"classification": "101001", "resource_class": "basic", "basic_kind": "法人单位",
      "open_type": "unconditional"}),
    ("market", "个体工商户登记", "个体户登记信息, 不含法人", ["经营者姓名", "经营场所"], [],
     {"format": "xlsx"}),
    ("market", "Enterprise Annual Reports", "Annual reports of enterprises, 企业年报", ["年报年度"],
     ["report"], {"format": "json"}),
]


OURS = ("env-bureau", "credit-center", "market-bureau")
OTHERS = [("空气质量与信用监测汇总", "含法人、市场监督与空气质量"),
          ("企业信用信息 (其他部门)", "信用"), ("Enterprise credit annual reports", "年报 AQI")]


@pytest.fixture
def catalog(session, make_department):
    elsewhere = steward(make_department("other-bureau", name="其他委办局"))
    for name, summary in OTHERS:
        service.publish_resource(session, elsewhere, code=service.create_resource(
            session, elsewhere, fields=fields(name=name, summary=summary)).code)
    departments = {
        "env": make_department("env-bureau", name="生态环境局"),
        "credit": make_department("credit-center", name="信用中心"),
        "market": make_department("market-bureau", name="市场监督管理局"),
    }
    made = {}
    for dept, name, summary, titles, tags, extra in CATALOG:
        principal = steward(departments[dept])
        items = [item(f"f{i}", title) for i, title in enumerate(titles)]
        resource = service.create_resource(session, principal, fields=fields(
            name=name, summary=summary, items=items, tags=tags, **extra))
        service.publish_resource(session, principal, code=resource.code)
        made[name] = resource
    draft = service.create_resource(session, steward(departments["env"]), fields=fields(
        name="空气质量草稿", summary="尚未发布"))
    made["draft"] = draft
    return made


def ours(result) -> list[tuple]:
    """The hits of this module's catalog, in the order they came."""
    return [(resource, score) for resource, score in result.hits
            if resource.department.code in OURS]


def names(result) -> list[str]:
    return [resource.name for resource, _ in ours(result)]


def scores(result) -> list[int]:
    return [score for _, score in ours(result)]


def total(session, **params) -> int:
    """How many of this module's resources match: the sum over its departments."""
    return sum(search.search_resources(session, everyone(), department=code, **params).total
               for code in OURS)


def facets(session, name: str, **params) -> dict[str, int]:
    summed: dict[str, int] = {}
    for code in OURS:
        result = search.search_resources(session, everyone(), department=code, **params)
        for value, count in result.facets[name].items():
            summed[value] = summed.get(value, 0) + count
    return summed


def everyone():
    return steward("someone-else", "reader")


def test_chinese_query_finds_the_daily_air_report(session, catalog):
    result = search.search_resources(session, everyone(), q="空气质量")
    assert names(result) == ["城市空气质量日报"]
    assert total(session, q="空气质量") == 1


def test_ranking_name_before_items_before_summary(session, catalog):
    result = search.search_resources(session, everyone(), q="空气")
    # name matches first (by pinyin among equals), then the summary-only match
    assert names(result) == ["城市空气质量日报", "空气污染源清单", "水环境质量月报"]
    assert scores(result) == [3, 3, 1]


def test_credit_finds_every_credit_resource(session, catalog):
    result = search.search_resources(session, everyone(), q="信用")
    assert names(result) == ["企业信用信息", "法人单位基础信息", "失信被执行人名单"]
    assert scores(result) == [3, 2, 1]


def test_legal_person_query(session, catalog):
    result = search.search_resources(session, everyone(), q="法人")
    assert names(result) == ["法人单位基础信息", "个体工商户登记"]


def test_english_queries(session, catalog):
    assert names(search.search_resources(session, everyone(), q="credit")) == [
        "企业信用信息", "失信被执行人名单"]
    assert names(search.search_resources(session, everyone(), q="AQI")) == ["城市空气质量日报"]
    assert names(search.search_resources(session, everyone(), q="annual reports")) == [
        "Enterprise Annual Reports"]
    assert names(search.search_resources(session, everyone(), q="年报 enterprise")) == [
        "Enterprise Annual Reports"]


def test_every_token_must_match(session, catalog):
    assert names(search.search_resources(session, everyone(), q="空气 信用")) == []
    assert search.search_resources(session, everyone(), q="？？").total == 0


def test_department_names_are_searched(session, catalog):
    # equal scores (department name only): pinyin order, "enterprise" < "fa3" < "ge4"
    assert names(search.search_resources(session, everyone(), q="市场监督")) == [
        "Enterprise Annual Reports", "法人单位基础信息", "个体工商户登记"]


def test_exact_name_ranks_first(session, catalog):
    result = search.search_resources(session, everyone(), q="企业信用信息")
    assert names(result)[0] == "企业信用信息"
    assert scores(result) == [4]


def test_filters_and_facets(session, catalog):
    result = search.search_resources(session, everyone(), limit=100)
    assert total(session) == 8
    department = search.search_resources(session, everyone()).facets["department"]
    assert {code: department[code] for code in OURS} == {
        "market-bureau": 3, "env-bureau": 3, "credit-center": 2}
    assert facets(session, "resource_class") == {"department": 7, "basic": 1}
    assert facets(session, "theme") == {"信用体系": 2, "生态环保": 1}
    assert facets(session, "share_type") == {"unconditional": 7, "conditional": 1}
    assert facets(session, "open_type") == {"none": 5, "unconditional": 3}
    assert facets(session, "format") == {"csv": 6, "json": 1, "xlsx": 1}
    assert facets(session, "update_cycle") == {"每日": 6, "每年": 1, "每月": 1}
    # Without a query: pinyin order.
    assert names(result)[:3] == ["城市空气质量日报", "Enterprise Annual Reports",
                                 "法人单位基础信息"]
    filtered = search.search_resources(session, everyone(), q="信息", department="market-bureau")
    assert names(filtered) == ["法人单位基础信息", "个体工商户登记"]
    assert filtered.facets["department"] == {"market-bureau": 2}
    assert names(search.search_resources(session, everyone(), open_type="unconditional",
                                         theme="生态环保")) == ["城市空气质量日报"]
    assert names(search.search_resources(session, everyone(), format="JSON")) == [
        "Enterprise Annual Reports"]
    assert total(session, resource_class="basic") == 1


def test_drafts_only_for_their_department(session, catalog):
    assert "空气质量草稿" not in names(search.search_resources(session, everyone(), q="空气"))
    own = steward("env-bureau", "colleague")
    found = search.search_resources(session, own, q="空气质量")
    assert names(found) == ["城市空气质量日报", "空气质量草稿"]
    assert names(search.search_resources(session, own, status="draft")) == ["空气质量草稿"]


def test_sort_by_name_and_paging(session, catalog):
    result = search.search_resources(session, everyone(), q="信息", sort="name", limit=2,
                                     offset=1)
    every = search.search_resources(session, everyone(), q="信息", sort="name")
    every_name = [resource.name for resource, _ in every.hits]
    assert every_name == sorted(every_name, key=lambda n: (textindex.name_sort(n), n))
    assert [resource.name for resource, _ in result.hits] == every_name[1:3]
    assert result.total == every.total


def test_http_search_answers_page_with_facets(client, auth, make_user, catalog):
    reader = make_user("requester")
    response = client.get(API, headers=auth(reader), params={
        "q": "信用", "department": "credit-center", "limit": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "total", "limit", "offset", "facets"}
    assert body["total"] == 2 and body["limit"] == 1
    assert [i["name"] for i in body["items"]] == ["企业信用信息"]
    assert body["items"][0]["score"] == 3
    assert body["facets"]["theme"] == {"信用体系": 2}
    bad = client.get(API, headers=auth(reader), params={"sort": "random"})
    assert bad.status_code == 422 and bad.json()["code"] == "sort_invalid"
    too_many = client.get(API, headers=auth(reader), params={"limit": 1001})
    assert too_many.status_code == 422


def test_edits_reindex(session, catalog):
    resource = catalog["水环境质量月报"]
    principal = steward(resource.department.code)
    service.update_resource(session, principal, code=resource.code,
                            changes={"name": "地表水环境质量月报", "summary": "断面水质"})
    assert names(search.search_resources(session, everyone(), q="空气")) == [
        "城市空气质量日报", "空气污染源清单"]
    assert names(search.search_resources(session, everyone(), q="地表水")) == [
        "地表水环境质量月报"]


QUERIES = ["空气", "信用", "法人", "信息", "市场监督", "credit", "质量"]


def ranked(session, **params):
    result = search.search_resources(session, everyone(), **params)
    return [(r.name, score) for r, score in result.hits], result.total


def test_pages_walk_the_tiers(session, catalog):
    for q in QUERIES:
        every, total = ranked(session, q=q, limit=100)
        pages = [ranked(session, q=q, limit=2, offset=start)[0] for start in range(0, total, 2)]
        assert [hit for page in pages for hit in page] == every, q
        assert ranked(session, q=q, offset=total)[0] == []


@pytest.mark.parametrize("large", [0, 1, 2])
def test_paging_large_matches_gives_the_same_answers(session, catalog, monkeypatch, large):
    """Every strategy for a large match (tier by tier, small tiers sorted, large ones read
    in name order) answers as ranking the whole match does."""
    answers = {q: ranked(session, q=q, limit=3, offset=1) for q in QUERIES}
    answers["browse"] = ranked(session, limit=5, offset=2)
    monkeypatch.setattr(search, "LARGE", large)
    monkeypatch.setattr(search, "WALK_CHUNK", 2)
    monkeypatch.setattr(search, "FACET_SCAN_FROM", large)
    assert {q: ranked(session, q=q, limit=3, offset=1) for q in QUERIES} == {
        q: answers[q] for q in QUERIES}
    assert ranked(session, limit=5, offset=2) == answers["browse"]


def test_facets_pack_into_one_integer():
    values = {"resource_class": "theme", "theme": "信用体系", "share_type": "none",
              "open_type": "conditional", "update_cycle": "每季度"}
    assert textindex.unpack_facets(textindex.pack_facets(values)) == values
    values["theme"] = None
    assert textindex.unpack_facets(textindex.pack_facets(values)) == values


def test_filters_outside_the_vocabulary_match_nothing(session, catalog):
    assert search.search_resources(session, everyone(), theme="交通").total == 0
    assert search.search_resources(session, everyone(), department="nope").total == 0


def test_reindex_all_rebuilds_the_same_answers(session, catalog):
    before = {q: ranked(session, q=q) for q in QUERIES}
    every = session.scalar(select(func.count()).select_from(Resource))
    assert textindex.reindex_all(session) == every
    assert {q: ranked(session, q=q) for q in QUERIES} == before
