"""The seed catalogs (seeds/*.yaml) against the plans they cite and the rules of RULES.md §1–§4.

No database: these read the YAML and the plan texts only.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import pytest

from govdata.platform.identifiers import is_division_code_shape, is_valid_uscc
from govdata.seeding.files import load_seed_files, seed_paths
from govdata.seeding.plans import Plan, load_plan, normalise, parse_plan, plan_dir
from govdata.seeding.samples import GENERATORS

SEEDS = load_seed_files()
IDS = [path.stem for path in seed_paths()]
PREFIX = {"重庆市": "cq-", "深圳市": "sz-", "沈阳市": "sy-", "河南省": "ha-"}

TOP_KEYS = {"jurisdiction", "plans", "divisions", "departments", "resources", "demo_accounts"}
DEPARTMENT_KEYS = {"code", "name", "short_name", "uscc", "uscc_synthetic", "division_code",
                   "parent", "cites"}
RESOURCE_KEYS = {"key", "name", "summary", "department", "resource_class", "basic_kind", "theme",
                 "classification", "format_category", "format", "share_type", "share_condition",
                 "share_method", "legal_basis", "open_type", "open_condition", "update_cycle",
                 "tags", "cites", "items", "sample"}
ITEM_KEYS = {"name", "title", "type", "length", "required", "basic", "sensitivity"}
ITEM_OPTIONAL_KEYS = {"share_type", "open_type"}

BASIC_KINDS = ("人口", "法人单位", "自然资源和空间地理", "社会信用", "电子证照")
THEMES = ("公共服务", "健康保障", "社会保障", "食品药品安全", "安全生产", "价格监管", "能源安全",
          "信用体系", "城乡建设", "社区治理", "生态环保", "应急维稳")
FORMAT_CATEGORIES = {"电子文件", "电子表格", "数据库", "图形图像", "流媒体", "自描述格式",
                     "服务接口"}
SHARE_METHODS = {"接口", "文件", "数据库", "邮件", "介质"}
UPDATE_CYCLES = {"实时", "每日", "每周", "每月", "每季度", "每半年", "每年", "不定期", "其他"}
TYPES = {"unconditional", "conditional", "none"}
DATA_TYPES = {"C", "N", "Y", "D", "T", "L", "I", "F"}
SENSITIVITIES = {"none", "id_number", "phone", "name", "address", "bank_card", "uscc", "secret"}
PERSONAL = {"id_number", "phone", "name", "address", "bank_card"}
ROLES = {"superuser", "admin", "steward", "requester", "approver", "auditor"}
CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
ITEM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PERSON_TITLE = re.compile(r"姓名|法定代表人|负责人|公民身份号码|住址|手机|账号")


@cache
def plan(file: str) -> Plan:
    return load_plan(plan_dir() / file)


def resources(seed):
    return seed["resources"]


def all_cites(seed):
    for department in seed["departments"]:
        for cite in department["cites"]:
            yield department["code"], cite
    for resource in seed["resources"]:
        for cite in resource["cites"]:
            yield resource["key"], cite


def effective_open(resource, item) -> str:
    return item.get("open_type") or resource["open_type"]


# --- the plan parser -----------------------------------------------------------------------------

def test_parser_labels_every_heading_style():
    text = ("前言。\n一、总体\n(一)甲。\n1.第一段\n(1)细目\n2、第二段\n（二）乙\n3。第三段\n"
            "二、保障\n附件:表\n")
    clauses = parse_plan(text)
    assert list(clauses) == ["序", "一", "一(一)", "一(一)1", "一(一)1(1)", "一(一)2", "一(二)",
                             "一(二)3", "二", "附件"]
    assert "细目" in clauses["一(一)"] and "细目" in clauses["一"]  # sub-clauses included
    assert "第三段" not in clauses["一(一)"]
    assert "前言" not in clauses["一"]


def test_parser_reads_the_real_plans():
    expected = {"000_172bce88546b11fd.txt": ["二(一)3", "二(八)3", "三(六)"],
                "001_f206fda5ec27ae69.txt": ["三(三)1(7)", "四(六)", "附件"],
                "002_3f41b746fee725b2.txt": ["三(一)1", "三(二)8", "三(四)16", "四(四)"],
                "003_611e1dcd59ca7198.txt": ["一(二)", "二(五)31", "三(五)"],
                "004_2a57444da47c5612.txt": ["二(三)1(3)", "二(三)5(4)", "二(八)5", "三(四)"]}
    for file, labels in expected.items():
        for label in labels:
            assert label in plan(file).clauses, (file, label)


def test_contains_is_scoped_to_the_clause():
    chongqing = plan("000_172bce88546b11fd.txt")
    assert chongqing.contains("二(四)7", "牵头单位:市公安局")
    assert chongqing.contains("二(四)", "牵头单位:市公安局")  # the parent includes it
    assert not chongqing.contains("二(四)6", "牵头单位:市公安局")
    assert not chongqing.contains("九(九)", "牵头单位")


def test_contains_strips_pinyin_glosses_and_whitespace():
    henan = plan("004_2a57444da47c5612.txt")
    assert "數(shù)據(jù)" in henan.clause_text("二(三)3(5)")
    assert henan.contains("二(三)3(5)", "匯聚全省公安系統數據資源")
    assert henan.contains("二(三)3(5)", "匯聚全省公安系統(tǒng)數(shù)據(jù)資源")
    assert normalise("數(shù) 據(jù)\n庫") == "數據庫"
    assert normalise("ETC(不停車)") == "ETC(不停車)"  # Chinese in brackets is text, not a gloss
    # a line broken mid-sentence in the page still matches
    assert plan("000_172bce88546b11fd.txt").contains("二(五)2", "农业资源要素数据共享平台")


# --- files and structure -------------------------------------------------------------------------

def test_the_four_jurisdictions_are_seeded():
    assert {seed["jurisdiction"]["name"] for seed in SEEDS} == set(PREFIX)


@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_keys_are_exactly_the_schema(seed):
    assert set(seed) == TOP_KEYS
    assert set(seed["jurisdiction"]) == {"name", "division_code"}
    for department in seed["departments"]:
        assert set(department) == DEPARTMENT_KEYS, department["code"]
    for resource in resources(seed):
        assert set(resource) == RESOURCE_KEYS, resource["key"]
        for item in resource["items"]:
            assert ITEM_KEYS - {"length"} <= set(item) <= ITEM_KEYS | ITEM_OPTIONAL_KEYS, item


@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_plans_exist(seed):
    assert seed["plans"]
    for entry in seed["plans"]:
        assert (plan_dir() / entry["file"]).is_file(), entry["file"]
        assert entry["title"]
    assert len({p["id"] for p in seed["plans"]}) == len(seed["plans"])


@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_every_department_and_resource_cites_its_plan(seed):
    files = {p["id"]: p["file"] for p in seed["plans"]}
    problems = []
    for where, cite in all_cites(seed):
        assert set(cite) == {"plan", "clause", "quote"}, where
        if cite["plan"] not in files:
            problems.append(f"{where}: unknown plan {cite['plan']}")
            continue
        cited = plan(files[cite["plan"]])
        if cite["clause"] not in cited.clauses:
            problems.append(f"{where}: no clause {cite['clause']} in {cite['plan']}")
        elif not cited.contains(cite["clause"], cite["quote"]):
            problems.append(f"{where}: {cite['quote']!r} is not in {cite['plan']} {cite['clause']}")
        if not 6 <= len(normalise(cite["quote"])) <= 40:
            problems.append(f"{where}: quote of {len(normalise(cite['quote']))} characters")
    assert not problems, "\n".join(problems)
    for department in seed["departments"]:
        assert department["cites"], department["code"]
    for resource in resources(seed):
        assert resource["cites"], resource["key"]


# --- departments ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_departments(seed):
    jurisdiction = seed["jurisdiction"]
    prefix = PREFIX[jurisdiction["name"]]
    departments = seed["departments"]
    assert len(departments) >= 20
    codes = {d["code"] for d in departments}
    for department in departments:
        assert CODE.match(department["code"]) and department["code"].startswith(prefix)
        assert is_valid_uscc(department["uscc"]), department["code"]
        assert department["uscc"][:2] == "11"  # 登记管理部门 1 (机构编制), 机构类别 1 (机关)
        assert department["uscc"][2:8] == jurisdiction["division_code"]
        assert department["uscc_synthetic"] is True
        assert department["division_code"] == jurisdiction["division_code"]
        assert department["parent"] is None or department["parent"] in codes - {department["code"]}
        assert department["name"] and department["short_name"]
    assert len(codes) == len(departments)
    assert len({d["uscc"] for d in departments}) == len(departments)


def test_department_codes_are_unique_across_files():
    codes = Counter(d["code"] for seed in SEEDS for d in seed["departments"])
    assert [code for code, n in codes.items() if n > 1] == []


@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_referenced_departments_exist(seed):
    codes = {d["code"] for d in seed["departments"]}
    for resource in resources(seed):
        assert resource["department"] in codes, resource["key"]
    for account in seed["demo_accounts"]:
        assert account["department"] in codes, account["username"]


# --- divisions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_division_codes(seed):
    jurisdiction = seed["jurisdiction"]
    province = jurisdiction["division_code"][:2]
    divisions = seed["divisions"]
    assert len(divisions) >= 8
    codes = [d["code"] for d in divisions]
    assert jurisdiction["division_code"] in codes
    assert len(set(codes)) == len(codes)
    assert len({d["name"] for d in divisions}) == len(divisions)
    for code in codes + [d["division_code"] for d in seed["departments"]]:
        assert isinstance(code, str) and is_division_code_shape(code), code
        assert code.startswith(province), code


# --- resources -----------------------------------------------------------------------------------

def test_enough_resources_and_unique_keys():
    keys = [r["key"] for seed in SEEDS for r in resources(seed)]
    assert len(keys) >= 150
    assert [key for key, n in Counter(keys).items() if n > 1] == []
    for seed in SEEDS:
        prefix = PREFIX[seed["jurisdiction"]["name"]]
        assert all(r["key"].startswith(prefix) and CODE.match(r["key"]) for r in resources(seed))


@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_resource_enumerations(seed):
    dept_index = {d["code"]: i for i, d in enumerate(seed["departments"], start=1)}
    for r in resources(seed):
        where = r["key"]
        assert r["name"] and r["summary"], where
        assert r["resource_class"] in {"basic", "theme", "department"}, where
        assert r["format_category"] in FORMAT_CATEGORIES, where
        assert re.match(r"^[a-z0-9]+$", r["format"]), where
        assert r["share_type"] in TYPES and r["open_type"] in TYPES, where
        assert r["share_method"] in SHARE_METHODS, where
        assert r["update_cycle"] in UPDATE_CYCLES, where
        assert r["tags"] and all(isinstance(tag, str) and tag for tag in r["tags"]), where
        code = r["classification"]
        assert re.match(r"^[123]\d{5}$", code), where
        if r["resource_class"] == "basic":
            assert r["basic_kind"] in BASIC_KINDS and r["theme"] is None, where
            assert code[:3] == f"1{BASIC_KINDS.index(r['basic_kind']) + 1:02d}", where
        elif r["resource_class"] == "theme":
            assert r["theme"] in THEMES and r["basic_kind"] is None, where
            assert code[:3] == f"2{THEMES.index(r['theme']) + 1:02d}", where
        else:
            assert r["theme"] is None and r["basic_kind"] is None, where
            assert code[:3] == f"3{dept_index[r['department']]:02d}", where
        assert code[3:] != "000", where


@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_items(seed):
    for r in resources(seed):
        items = r["items"]
        assert 3 <= len(items) <= 15, r["key"]
        names = [item["name"] for item in items]
        assert len(set(names)) == len(names), r["key"]
        for item in items:
            where = f"{r['key']}.{item['name']}"
            assert ITEM_NAME.match(item["name"]) and item["name"] != "_id", where
            assert item["title"], where
            assert item["type"] in DATA_TYPES, where
            assert isinstance(item["required"], bool) and isinstance(item["basic"], bool), where
            assert item["sensitivity"] in SENSITIVITIES, where
            if item["type"] == "C":
                assert isinstance(item.get("length"), int) and item["length"] > 0, where
            elif item["type"] in {"D", "T", "L", "I"}:
                assert "length" not in item, where
            assert item.get("share_type", "unconditional") in TYPES, where
            assert item.get("open_type", "none") in TYPES, where
            if item["basic"]:
                assert r["resource_class"] == "basic", where
        if r["resource_class"] == "basic":
            assert any(item["basic"] for item in items), r["key"]


# --- RULES.md §1, §3, §4 -------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_share_rules(seed):
    for r in resources(seed):
        where = r["key"]
        item_shares = {item.get("share_type") for item in r["items"]} - {None}
        if r["resource_class"] == "basic":
            assert r["share_type"] == "unconditional", where
            for item in r["items"]:
                if item["basic"]:
                    assert item.get("share_type", "unconditional") == "unconditional", where
                else:
                    assert item.get("share_type") != "none", where
        if r["share_type"] == "none" or "none" in item_shares:
            assert r["legal_basis"] and "《" in r["legal_basis"], where
        else:
            assert r["legal_basis"] is None, where
        if r["share_type"] == "conditional" or "conditional" in item_shares:
            assert r["share_condition"], where
        if r["share_type"] == "unconditional" and not item_shares - {"unconditional"}:
            assert r["share_condition"] is None, where


@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_open_rules(seed):
    for r in resources(seed):
        where = r["key"]
        assert bool(r["open_condition"]) == (r["open_type"] == "conditional"), where
        about_persons = (r.get("basic_kind") == "人口"
                         or any(item["sensitivity"] == "id_number" for item in r["items"]))
        if about_persons:
            assert r["open_type"] in {"none", "conditional"}, where
        if r["share_type"] == "none":
            assert r["open_type"] == "none", where  # what may not be shared may not be opened
        for item in r["items"]:
            if item["sensitivity"] == "secret":
                assert effective_open(r, item) == "none", f"{where}.{item['name']}"
            if PERSON_TITLE.search(item["title"]):
                # personal data may be in an open resource only because the portal masks it
                # (RULES.md §4): it must be marked so
                assert item["sensitivity"] in PERSONAL, f"{where}.{item['name']}"


def test_a_realistic_mix_of_share_and_open_types():
    every = [r for seed in SEEDS for r in resources(seed)]
    share = Counter(r["share_type"] for r in every)
    opened = Counter(r["open_type"] for r in every)
    assert share["unconditional"] > len(every) / 2
    assert share["conditional"] >= 10 and 3 <= share["none"] <= 15
    assert opened["unconditional"] > len(every) / 2
    assert opened["conditional"] >= 8 and opened["none"] >= 15


def test_findable_by_the_obvious_words():
    names = [r["name"] for seed in SEEDS for r in resources(seed)]
    for word, at_least in (("空气质量", 6), ("信用", 6), ("法人", 4)):
        assert sum(word in name for name in names) >= at_least, word
    for seed in SEEDS:  # every jurisdiction publishes its daily air quality
        assert any("空气质量" in r["name"] and r["open_type"] == "unconditional"
                   for r in resources(seed))


@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_every_basic_kind_is_present(seed):
    kinds = {r["basic_kind"] for r in resources(seed) if r["resource_class"] == "basic"}
    assert kinds == set(BASIC_KINDS)


# --- samples -------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_samples_name_generators_whose_columns_are_the_items(seed):
    for r in resources(seed):
        if r["open_type"] != "none" or r["resource_class"] == "basic":
            assert r["sample"], f"{r['key']} is open or basic but has no sample generator"
        if r["sample"] is not None:
            assert r["sample"] in GENERATORS, r["key"]
            columns = list(GENERATORS[r["sample"]].columns)
            assert [i["name"] for i in r["items"]] == columns, r["key"]


# --- demo accounts -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS, ids=IDS)
def test_demo_accounts_cover_every_role(seed):
    roles = set()
    for account in seed["demo_accounts"]:
        assert set(account) == {"username", "department", "roles"}
        assert account["roles"] and set(account["roles"]) <= ROLES, account["username"]
        roles |= set(account["roles"])
    assert roles - {"superuser"} == ROLES - {"superuser"}


def test_one_demo_superuser_for_the_platform():
    superusers = [a["username"] for seed in SEEDS for a in seed["demo_accounts"]
                  if "superuser" in a["roles"]]
    assert superusers == ["platform-superuser"]


def test_demo_usernames_are_unique():
    names = Counter(a["username"] for seed in SEEDS for a in seed["demo_accounts"])
    assert [name for name, n in names.items() if n > 1] == []
