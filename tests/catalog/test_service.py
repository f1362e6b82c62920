"""The catalog rules of RULES.md §2 and §4, called on the service directly (the seed loader
and the CLI import reach them this way)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from govdata.catalog import service
from govdata.catalog.models import ResourceVersion
from govdata.platform.errors import Conflict, Forbidden, NotFound, RuleViolation
from govdata.platform.models import AuditEntry
from govdata.platform.principal import Principal
from tests.catalog import basic_fields, create, fields, item, steward


@pytest.fixture
def dept(make_department) -> str:
    return make_department(name="重庆市生态环境局")


@pytest.fixture
def me(dept) -> Principal:
    return steward(dept)


def violation(session, principal, **overrides) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        service.create_resource(session, principal, fields=fields(**overrides))
    return caught.value


def locs(error: RuleViolation) -> list[list]:
    return [e["loc"] for e in error.errors or []]


def test_create_assigns_code_and_stores_version_and_audit(session, me):
    resource = create(session, me, name="城市空气质量日报", classification="301002")
    assert resource.code == "301002/000001"
    assert resource.status == "draft" and resource.version == 1
    assert resource.department.code == me.department
    assert [i.name for i in resource.items] == ["station"]
    assert resource.name_sort.startswith("cheng2 shi4 kong1 qi4")
    versions = session.scalars(select(ResourceVersion).where(
        ResourceVersion.resource_id == resource.id)).all()
    assert [(v.version, v.change) for v in versions] == [(1, "create")]
    assert versions[0].snapshot["items"][0]["title"] == "监测站点"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.resource == resource.code)).one()
    assert entry.action == "catalog.resource.create" and entry.actor == me.username
    assert json.loads(entry.body)["owner"] == me.department


def test_codes_count_per_classification(session, me):
    first = create(session, me, classification="301003")
    second = create(session, me, classification="301003")
    other = create(session, me, classification="3010030001")
    assert (first.code, second.code) == ("301003/000001", "301003/000002")
    assert other.code == "3010030001/000001"


def test_retired_codes_are_never_reused(session, me):
    first = create(session, me, classification="301004")
    service.retire_resource(session, me, code=first.code)
    second = create(session, me, classification="301004")
    assert second.code == "301004/000002"


@pytest.mark.parametrize(("classification", "resource_class"), [
    ("30100", "department"),      # too short
    ("401001", "department"),     # 类 must be 1, 2 or 3
    ("30a001", "department"),
    ("101001", "department"),     # first digit names the class
    ("301001", "basic"),
])
def test_classification_shape_and_class(session, me, classification, resource_class):
    error = violation(session, me, classification=classification, resource_class=resource_class,
                      basic_kind="人口" if resource_class == "basic" else None)
    assert ["classification"] in locs(error)


def test_none_share_needs_legal_basis(session, me):
    error = violation(session, me, share_type="none")
    assert error.code == "legal_basis_required"
    assert locs(error) == [["legal_basis"]]
    resource = create(session, me, share_type="none", legal_basis="《保守国家秘密法》第九条")
    assert resource.share_type == "none"


def test_conditional_share_needs_condition(session, me):
    assert violation(session, me, share_type="conditional").code == "share_condition_required"
    create(session, me, share_type="conditional", share_condition="仅限执法部门")


def test_setting_makes_conditional_need_a_legal_basis(session, me, settings):
    strict = settings.model_copy(update={"conditional_share_needs_legal_basis": True})
    with pytest.raises(RuleViolation) as caught:
        service.create_resource(session, me, settings=strict, fields=fields(
            share_type="conditional", share_condition="仅限执法部门"))
    assert caught.value.code == "legal_basis_required"
    service.create_resource(session, me, settings=strict, fields=fields(
        share_type="conditional", share_condition="仅限执法部门", legal_basis="某条例第十条"))


def test_basic_resources_are_unconditional(session, me):
    with pytest.raises(RuleViolation) as caught:
        service.create_resource(session, me, fields=basic_fields(
            share_type="conditional", share_condition="仅限"))
    assert caught.value.code == "basic_resource_must_be_unconditional"
    assert locs(caught.value) == [["share_type"]]


def test_basic_items_cannot_carry_another_share_type(session, me):
    items = [item("uscc", "统一社会信用代码", is_basic=True, share_type="conditional")]
    with pytest.raises(RuleViolation) as caught:
        service.create_resource(session, me, fields=basic_fields(
            items=items, share_condition="仅限市场监管"))
    assert caught.value.code == "basic_resource_must_be_unconditional"
    assert locs(caught.value) == [["items", 0, "share_type"]]


def test_business_items_of_basic_resources_may_be_conditional(session, me):
    items = [item("uscc", "统一社会信用代码", is_basic=True),
             item("penalty", "处罚记录", share_type="conditional")]
    resource = service.create_resource(session, me, fields=basic_fields(
        items=items, share_condition="处罚记录仅限执法部门"))
    assert [i.share_type for i in resource.items] == [None, "conditional"]


def test_basic_resource_needs_one_of_the_five_kinds(session, me):
    with pytest.raises(RuleViolation) as caught:
        service.create_resource(session, me, fields=basic_fields(basic_kind="交通"))
    assert locs(caught.value) == [["basic_kind"]]
    with pytest.raises(RuleViolation) as caught:
        service.create_resource(session, me, fields=basic_fields(basic_kind=None))
    assert caught.value.code == "basic_kind_required"
    for kind in ("人口", "法人单位", "自然资源和空间地理", "社会信用", "电子证照"):
        service.create_resource(session, me, fields=basic_fields(basic_kind=kind,
                                                                 name=f"基础库{kind}"))


def test_theme_resources_need_one_of_the_twelve_themes(session, me):
    theme = {"classification": "201001", "resource_class": "theme"}
    assert violation(session, me, **theme).code == "theme_required"
    assert locs(violation(session, me, **theme, theme="交通运输")) == [["theme"]]
    assert create(session, me, **theme, theme="信用体系").theme == "信用体系"


@pytest.mark.parametrize(("field", "value"), [
    ("format_category", "纸质"), ("update_cycle", "每两天"), ("share_method", "传真"),
    ("open_type", "partly"), ("share_type", "maybe"), ("resource_class", "other"),
    ("format", "C S V"),
])
def test_vocabularies(session, me, field, value):
    error = violation(session, me, **{field: value})
    assert [field] in locs(error)


def test_share_type_labels_are_chinese_messages(session, me):
    error = violation(session, me, share_method="传真")
    assert "接口" in error.errors[0]["msg"]


@pytest.mark.parametrize("data_type", ["C", "N", "Y", "D", "T", "L", "I", "F"])
def test_every_data_type_is_accepted(session, me, data_type):
    create(session, me, items=[item(data_type=data_type)])


@pytest.mark.parametrize(("overrides", "field"), [
    ({"data_type": "X"}, "data_type"),
    ({"name": "_hidden"}, "name"),
    ({"name": "Station"}, "name"),
    ({"name": "1st"}, "name"),
    ({"name": "a" * 64}, "name"),
    ({"title": ""}, "title"),
    ({"length": 0}, "length"),
    ({"sensitivity": "medical"}, "sensitivity"),
    ({"share_type": "sometimes"}, "share_type"),
])
def test_item_checks(session, me, overrides, field):
    error = violation(session, me, items=[item(**overrides)])
    assert ["items", 0, field] in locs(error)


def test_item_names_are_unique_and_at_least_one_item(session, me):
    error = violation(session, me, items=[item("a1"), item("a1", "再一个")])
    assert locs(error) == [["items", 1, "name"]] and error.code == "item_name_duplicate"
    assert violation(session, me, items=[]).code == "items_required"


def test_secret_items_cannot_be_opened(session, me):
    error = violation(session, me, open_type="unconditional",
                      items=[item("note", "内部备注", sensitivity="secret",
                                  open_type="unconditional")])
    assert error.code == "secret_item_cannot_open"
    # Inheriting an open type is fine: the item is dropped on every public path.
    create(session, me, open_type="unconditional",
           items=[item(), item("note", "内部备注", sensitivity="secret")])


def test_personal_items_may_be_in_open_resources(session, me):
    resource = create(session, me, open_type="unconditional", items=[
        item("holder", "持有人姓名", sensitivity="name"),
        item("id_no", "公民身份号码", sensitivity="id_number", length=18)])
    assert resource.open_type == "unconditional"


def test_conditional_open_needs_published_conditions(session, me):
    assert violation(session, me, open_type="conditional").code == "open_condition_required"


def test_item_share_none_needs_the_resources_legal_basis(session, me):
    error = violation(session, me, items=[item(share_type="none")])
    assert error.code == "legal_basis_required"
    assert locs(error) == [["items", 0, "share_type"]]


def test_every_problem_is_reported_at_once(session, me):
    error = violation(session, me, name="", share_type="none", update_cycle="每两天",
                      items=[item(data_type="X")])
    assert error.code == "resource_invalid"
    assert {tuple(loc) for loc in locs(error)} == {
        ("name",), ("legal_basis",), ("update_cycle",), ("items", 0, "data_type")}


def test_same_name_in_a_department_conflicts(session, me, make_department):
    create(session, me, name="企业登记信息")
    with pytest.raises(Conflict) as caught:
        create(session, me, name="企业登记信息")
    assert caught.value.code == "resource_name_exists"
    other = make_department()
    create(session, steward(other), name="企业登记信息")


def test_only_stewards_of_the_department_write(session, me, dept, make_department):
    with pytest.raises(Forbidden) as caught:
        create(session, steward(make_department()), department=dept)
    assert caught.value.code == "not_resource_steward"
    requester = Principal(username="r", department=dept, roles=frozenset({"requester"}))
    with pytest.raises(Forbidden):
        create(session, requester)
    resource = create(session, me)
    with pytest.raises(Forbidden) as caught:
        service.require_steward_of(session, steward(make_department()), resource, action="x")
    assert caught.value.code == "not_resource_steward"
    service.require_steward_of(session, me, resource, action="x")
    admin = Principal(username="a", department=None, roles=frozenset({"admin"}),
                      division="500000")
    service.require_steward_of(session, admin, resource, action="x")
    assert create(session, admin, department=dept).department.code == dept


def test_get_resource_hides_drafts_from_other_departments(session, me, make_department):
    resource = create(session, me)
    outsider = steward(make_department())
    with pytest.raises(NotFound) as caught:
        service.get_resource(session, outsider, resource.code)
    assert caught.value.code == "resource_not_found"
    colleague = Principal(username="c", department=me.department,
                          roles=frozenset({"requester"}))
    assert service.get_resource(session, colleague, resource.code) is resource
    auditor = Principal(username="au", department="x", roles=frozenset({"auditor"}))
    assert service.get_resource(session, auditor, resource.code) is resource
    service.publish_resource(session, me, code=resource.code)
    assert service.get_resource(session, outsider, resource.code) is resource
    with pytest.raises(NotFound):
        service.get_resource(session, me, "301001/999999")


def test_lifecycle_versions(session, me):
    resource = create(session, me)
    code = resource.code
    service.update_resource(session, me, code=code, changes={"summary": "新的摘要"})
    service.publish_resource(session, me, code=code)
    assert resource.published_on is not None
    service.update_resource(session, me, code=code, changes={
        "items": [item(), item("aqi", "空气质量指数", data_type="I", length=4)]})
    assert resource.status == "published" and resource.version == 4
    assert [i.name for i in resource.items] == ["station", "aqi"]
    service.retire_resource(session, me, code=code, reason="职责调整")
    versions, total = service.history(session, me, code=code)
    assert total == 5
    assert [(v.version, v.change) for v in versions] == [
        (5, "retire"), (4, "update"), (3, "publish"), (2, "update"), (1, "create")]
    assert versions[0].snapshot["status"] == "retired"
    assert versions[1].snapshot["items"][1]["name"] == "aqi"
    assert versions[3].snapshot["summary"] == "新的摘要"
    for call in (lambda: service.update_resource(session, me, code=code, changes={"summary": "x"}),
                 lambda: service.publish_resource(session, me, code=code),
                 lambda: service.retire_resource(session, me, code=code)):
        with pytest.raises(Conflict) as caught:
            call()
        assert caught.value.code == "resource_retired"


def test_publish_twice_conflicts(session, me):
    resource = create(session, me, publish=True)
    with pytest.raises(Conflict) as caught:
        service.publish_resource(session, me, code=resource.code)
    assert caught.value.code == "resource_already_published"


def test_a_change_that_changes_nothing_writes_nothing(session, me):
    resource = create(session, me)
    service.update_resource(session, me, code=resource.code,
                            changes={"summary": resource.summary, "items": [item()]})
    assert resource.version == 1


def test_update_rechecks_the_rules_and_keeps_the_code(session, me):
    resource = create(session, me)
    with pytest.raises(RuleViolation) as caught:
        service.update_resource(session, me, code=resource.code, changes={"share_type": "none"})
    assert caught.value.code == "legal_basis_required"
    with pytest.raises(RuleViolation) as caught:
        service.update_resource(session, me, code=resource.code,
                                changes={"classification": "301009"})
    assert caught.value.code == "classification_immutable"
    with pytest.raises(RuleViolation) as caught:
        service.update_resource(session, me, code=resource.code, changes={"code": "x"})
    assert caught.value.code == "field_immutable"


def test_rename_to_a_taken_name_conflicts(session, me):
    create(session, me, name="甲")
    second = create(session, me, name="乙")
    with pytest.raises(Conflict):
        service.update_resource(session, me, code=second.code, changes={"name": "甲"})


def test_admin_must_name_the_department(session):
    admin = Principal.system("seed")
    with pytest.raises(RuleViolation) as caught:
        service.create_resource(session, admin, fields=fields())
    assert caught.value.code == "department_required"
    with pytest.raises(NotFound):
        service.create_resource(session, admin, fields=fields(), department="no-such-dept")
