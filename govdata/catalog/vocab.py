"""The catalog's controlled vocabularies (RULES.md §2, the 2017 catalog guide) and their
Chinese labels, so the API, the import and the export speak the same words."""

from __future__ import annotations

from govdata.catalog.models import OpenType, ResourceClass, Sensitivity, ShareType, Status

# 类: the first digit of a classification code names the resource class.
CLASS_DIGIT = {ResourceClass.basic: "1", ResourceClass.theme: "2", ResourceClass.department: "3"}
CLASS_LABEL = {ResourceClass.basic: "基础信息资源", ResourceClass.theme: "主题信息资源",
               ResourceClass.department: "部门信息资源"}

# 基础信息资源: their basic data items are always shared unconditionally.
BASIC_KINDS = ("人口", "法人单位", "自然资源和空间地理", "社会信用", "电子证照")

THEMES = ("公共服务", "健康保障", "社会保障", "食品药品安全", "安全生产", "价格监管", "能源安全",
          "信用体系", "城乡建设", "社区治理", "生态环保", "应急维稳")

FORMAT_CATEGORIES = ("电子文件", "电子表格", "数据库", "图形图像", "流媒体", "自描述格式",
                     "服务接口")

UPDATE_CYCLES = ("实时", "每日", "每周", "每月", "每季度", "每半年", "每年", "不定期", "其他")

# 共享方式: on the platform (接口, 文件, 数据库) or off it (邮件, 介质).
SHARE_METHODS = ("接口", "文件", "数据库", "邮件", "介质")

# 信息项数据类型 (the guide's letters).
DATA_TYPES = {"C": "字符型", "N": "数值型", "Y": "货币型", "D": "日期型", "T": "日期时间型",
              "L": "逻辑型", "I": "整型", "F": "浮点型"}

SHARE_LABEL = {ShareType.unconditional: "无条件共享", ShareType.conditional: "有条件共享",
               ShareType.none: "不予共享"}
OPEN_LABEL = {OpenType.unconditional: "无条件开放", OpenType.conditional: "有条件开放",
              OpenType.none: "不予开放"}
STATUS_LABEL = {Status.draft: "草稿", Status.published: "已发布", Status.retired: "已停用"}
SENSITIVITY_LABEL = {
    Sensitivity.none: "无", Sensitivity.id_number: "公民身份号码", Sensitivity.phone: "电话号码",
    Sensitivity.name: "姓名", Sensitivity.address: "地址", Sensitivity.bank_card: "银行卡号",
    Sensitivity.uscc: "统一社会信用代码", Sensitivity.secret: "涉密",
}
# Items whose values are personal data: masked on every public path (RULES.md §4).
PERSONAL_SENSITIVITIES = frozenset({Sensitivity.id_number, Sensitivity.name, Sensitivity.phone,
                                    Sensitivity.address, Sensitivity.bank_card})

SHARE_TYPES = tuple(ShareType)
OPEN_TYPES = tuple(OpenType)
RESOURCE_CLASSES = tuple(ResourceClass)
SENSITIVITIES = tuple(Sensitivity)
STATUSES = tuple(Status)


def parse_choice(value: str | None, labels: dict[str, str]) -> str | None:
    """A vocabulary value given either as its code (``conditional``) or its Chinese label
    (``有条件共享``); ``None`` if it is neither."""
    if value is None:
        return None
    text = value.strip()
    if text in labels:
        return str(text)
    for code, label in labels.items():
        if text == label:
            return str(code)
    return None
