"""Interop: ``ckanapi dump datasets --all`` of our portal, loaded with
``ckanapi load datasets`` into a second, empty instance of ours, gives the same catalog."""

from __future__ import annotations

import json

import ckanapi
import requests

from .conftest import ckanapi_cli

SAME = ("name", "title", "notes", "license_id", "state", "private", "type")


def extras(package: dict) -> dict[str, str]:
    kept = {"classification", "resource_class", "theme", "share_type", "open_type",
            "open_condition", "update_cycle", "format", "format_category", "data_items",
            "code", "published_on", "spatial"}
    return {e["key"]: e["value"] for e in package["extras"] if e["key"] in kept}


def test_a_dump_of_ours_loads_into_another_instance_of_ours(portal, empty_portal, tmp_path):
    dumped = tmp_path / "dump.jsonl"
    result = ckanapi_cli("dump", "datasets", "--all", "-q", "-r", portal.url, "-O", str(dumped))
    assert result.returncode == 0, result.stderr
    loaded = ckanapi_cli("load", "datasets", "-I", str(dumped), "-r", empty_portal.url,
                         "-a", empty_portal.tokens["admin"])
    assert loaded.returncode == 0, loaded.stderr + loaded.stdout
    source = ckanapi.RemoteCKAN(portal.url)
    target = ckanapi.RemoteCKAN(empty_portal.url)
    names = source.action.package_list()
    assert target.action.package_list() == names
    for name in names:
        before, after = source.action.package_show(id=name), target.action.package_show(id=name)
        assert {k: before[k] for k in SAME} == {k: after[k] for k in SAME}, name
        assert extras(before) == extras(after), name
        assert before["organization"]["name"] == after["organization"]["name"]
        assert [t["name"] for t in before["tags"]] == [t["name"] for t in after["tags"]]
        assert [g["name"] for g in before["groups"]] == [g["name"] for g in after["groups"]]
    code = names[0].replace("-", "/")
    entry = requests.get(f"{empty_portal.url}/api/v1/catalog/resources/{code}",
                         headers={"Authorization": f"Bearer {empty_portal.tokens['admin']}"})
    assert entry.status_code == 200 and entry.json()["code"] == code
    again = ckanapi_cli("load", "datasets", "-I", str(dumped), "-r", empty_portal.url,
                        "-a", empty_portal.tokens["admin"])
    assert again.returncode == 0, again.stderr  # loading twice updates, creates nothing
    assert target.action.package_list() == names
    lines = [json.loads(line) for line in dumped.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(names)
