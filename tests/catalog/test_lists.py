"""The negative list, department share and open lists, and catalog statistics."""

from __future__ import annotations

import pytest

from govdata.catalog import lists, service, stats
from tests.catalog import create, item, steward

CATALOG = "/api/v1/catalog"


@pytest.fixture
def world(session, make_department):
    env, credit, idle = (make_department("env-bureau", name="生态环境局"),
                         make_department("credit-center", name="信用中心"),
                         make_department("idle-office", name="没有目录的办公室"))
    e, c = steward(env), steward(credit)
    made = {
        "air": create(session, e, name="空气质量日报", publish=True, open_type="unconditional"),
        "secret": create(session, e, name="核设施位置", publish=True, share_type="none",
                         legal_basis="《中华人民共和国保守国家秘密法》"),
        "mixed": create(session, c, name="企业信用信息", publish=True, share_type="conditional",
                        share_condition="仅限监管", legal_basis="《征信业管理条例》",
                        items=[item(), item("bank", "银行账户", share_type="none",
                                            sensitivity="bank_card")]),
        "draft_none": create(session, c, name="草稿不共享", share_type="none", legal_basis="某法"),
        "retired": create(session, e, name="已停用资源", publish=True, open_type="conditional",
                          open_condition="申请"),
    }
    service.retire_resource(session, e, code=made["retired"].code)
    return {"env": env, "credit": credit, "idle": idle, **made}


def test_negative_list_names_resources_and_items_with_legal_bases(session, world):
    entries, total = lists.negative_list(session, steward("anyone"))
    assert total == 2
    by_name = {e.resource.name: e for e in entries}
    assert set(by_name) == {"核设施位置", "企业信用信息"}
    assert by_name["核设施位置"].items == []
    assert by_name["核设施位置"].resource.legal_basis == "《中华人民共和国保守国家秘密法》"
    assert [i.name for i in by_name["企业信用信息"].items] == ["bank"]
    only_env, total = lists.negative_list(session, steward("anyone"), department="env-bureau")
    assert total == 1 and only_env[0].resource.name == "核设施位置"


def test_share_and_open_lists(session, world):
    shared, total = lists.share_list(session, steward("x"), department="env-bureau")
    assert [r.name for r in shared] == ["空气质量日报"] and total == 1
    opened, _ = lists.open_list(session, steward("x"), department="env-bureau")
    assert [r.name for r in opened] == ["空气质量日报"]
    shared, _ = lists.share_list(session, steward("x"), department="credit-center")
    assert [r.name for r in shared] == ["企业信用信息"]
    assert lists.open_list(session, steward("x"), department="credit-center")[1] == 0


def test_lists_over_http(client, auth, make_user, world):
    reader = make_user("requester")
    negative = client.get(f"{CATALOG}/negative-list", headers=auth(reader)).json()
    assert negative["total"] == 2 and negative["limit"] == 20
    entry = next(e for e in negative["items"] if e["name"] == "企业信用信息")
    assert entry["legal_basis"] == "《征信业管理条例》"
    assert entry["data_items"] == [{"name": "bank", "title": "银行账户"}]
    share = client.get(f"{CATALOG}/departments/env-bureau/share-list", headers=auth(reader))
    assert [i["name"] for i in share.json()["items"]] == ["空气质量日报"]
    assert share.json()["items"][0]["share_method"] == "接口"
    opened = client.get(f"{CATALOG}/departments/env-bureau/open-list", headers=auth(reader))
    assert opened.json()["total"] == 1
    missing = client.get(f"{CATALOG}/departments/nope/share-list", headers=auth(reader))
    assert missing.status_code == 404 and missing.json()["code"] == "department_not_found"
    assert client.get(f"{CATALOG}/negative-list").status_code == 401


def test_stats(session, world):
    figures = stats.catalog_stats(session, steward("x"))
    resources = figures["resources"]
    assert resources["published"] == 3
    assert resources["by_status"] == {"draft": 1, "published": 3, "retired": 1}
    assert resources["by_share_type"] == {"conditional": 1, "none": 1, "unconditional": 1}
    assert resources["by_open_type"] == {"none": 2, "unconditional": 1}
    assert resources["by_class"] == {"department": 3}
    departments = figures["departments"]
    assert departments["publishing_share_list"] == 2
    assert departments["publishing_open_list"] == 1
    total = departments["total"]
    assert departments["open_list_coverage"] == round(1 / total, 4)
    assert [t["target"] for t in departments["targets"]] == [0.5, 0.5, 0.8]
    assert all(t["met"] == (1 / total >= t["target"]) for t in departments["targets"])
    env = stats.catalog_stats(session, steward("x"), department="env-bureau")
    assert env["publishes_share_list"] and env["publishes_open_list"]
    assert env["resources"]["by_status"] == {"published": 2, "retired": 1}
    idle = stats.catalog_stats(session, steward("x"), department="idle-office")
    assert not idle["publishes_share_list"] and idle["resources"]["published"] == 0


def test_stats_over_http(client, auth, make_user, world):
    reader = make_user("requester")
    body = client.get(f"{CATALOG}/stats", headers=auth(reader)).json()
    assert body["resources"]["published"] == 3
    assert body["departments"]["publishing_open_list"] == 1
    one = client.get(f"{CATALOG}/stats", headers=auth(reader),
                     params={"department": "credit-center"}).json()
    assert one["publishes_share_list"] is True and one["publishes_open_list"] is False
