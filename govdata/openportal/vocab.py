"""The open portal's vocabularies: themes as CKAN groups, licences, and how long each
update cycle may go without new data before a dataset counts as overdue."""

from __future__ import annotations

from dataclasses import dataclass

# Open types that make a published resource an open dataset (RULES.md §3).
PUBLIC_OPEN_TYPES = ("unconditional", "conditional")

# A dataset's theme (主题, the 2017 guide's twelve) is its CKAN group. CKAN names must be
# lower-case ASCII, so each group has a pinyin name; its title is the theme itself.
THEME_GROUPS: dict[str, str] = {
    "公共服务": "gonggong-fuwu", "健康保障": "jiankang-baozhang", "社会保障": "shehui-baozhang",
    "食品药品安全": "shipin-yaopin-anquan", "安全生产": "anquan-shengchan",
    "价格监管": "jiage-jianguan", "能源安全": "nengyuan-anquan", "信用体系": "xinyong-tixi",
    "城乡建设": "chengxiang-jianshe", "社区治理": "shequ-zhili", "生态环保": "shengtai-huanbao",
    "应急维稳": "yingji-weiwen",
}
GROUP_THEMES = {group: theme for theme, group in THEME_GROUPS.items()}


def theme_of_group(value: str) -> str | None:
    """The theme a group is named by: its pinyin name or the theme itself."""
    if value in THEME_GROUPS:
        return value
    return GROUP_THEMES.get(value)


# Days an update cycle allows between loads of new data; ``None``: never overdue.
CYCLE_DAYS: dict[str, int | None] = {
    "实时": 1, "每日": 1, "每周": 7, "每月": 31, "每季度": 92, "每半年": 184, "每年": 366,
    "不定期": None, "其他": None,
}
# ISO 8601 durations and the Dublin Core frequency of each cycle (DCAT, data.json).
CYCLE_ISO = {"实时": "R/PT1S", "每日": "R/P1D", "每周": "R/P1W", "每月": "R/P1M",
             "每季度": "R/P3M", "每半年": "R/P6M", "每年": "R/P1Y"}
CYCLE_EU_FREQUENCY = {"实时": "UPDATE_CONT", "每日": "DAILY", "每周": "WEEKLY",
                      "每月": "MONTHLY", "每季度": "QUARTERLY", "每半年": "BIANNUAL",
                      "每年": "ANNUAL", "不定期": "IRREG", "其他": "OTHER"}


@dataclass(frozen=True)
class Licence:
    id: str
    title: str
    url: str
    od_conformance: str = "approved"

    def as_ckan(self) -> dict[str, object]:
        """As CKAN's ``license_list`` shows a licence."""
        return {"id": self.id, "title": self.title, "url": self.url, "status": "active",
                "maintainer": "", "family": "", "is_generic": False,
                "is_okd_compliant": True, "is_osi_compliant": False,
                "domain_content": True, "domain_data": True, "domain_software": False,
                "od_conformance": self.od_conformance, "osd_conformance": "not reviewed"}


LICENCES: dict[str, Licence] = {licence.id: licence for licence in (
    Licence("cc-by-4.0", "知识共享署名 4.0 国际许可协议 (CC BY 4.0)",
            "https://creativecommons.org/licenses/by/4.0/"),
    Licence("cc-zero", "知识共享 CC0 1.0 公共领域贡献 (CC0 1.0)",
            "https://creativecommons.org/publicdomain/zero/1.0/"),
    Licence("odc-by", "开放数据共享署名许可 (ODC-BY 1.0)",
            "https://opendatacommons.org/licenses/by/1-0/"),
    Licence("odc-pddl", "开放数据共享公共领域贡献和许可 (ODC-PDDL 1.0)",
            "https://opendatacommons.org/licenses/pddl/1-0/"),
)}
