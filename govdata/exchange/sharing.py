"""The share types of RULES.md §1 as the exchange applies them to a request or a grant.

A data item's share type is its own when the catalog gives one, else its resource's. An
item that is ``none`` is never granted, whatever its resource's type; a resource that is
``none`` grants nothing. A request is answered at once when every item it asks for is
``unconditional``, and waits for the provider when one of them is ``conditional``.
"""

from __future__ import annotations

from collections.abc import Iterable

from govdata.catalog.models import DataItem, Resource, ShareType, Status
from govdata.platform.errors import Conflict

NEGATIVE_LIST = "share_refused_negative_list"


def item_share_type(resource: Resource, item: DataItem) -> str:
    return item.share_type or resource.share_type


def shareable_items(resource: Resource) -> list[str]:
    """The items that may be shared at all, in catalog order."""
    if resource.share_type == ShareType.none:
        return []
    return [item.name for item in resource.items
            if item_share_type(resource, item) != ShareType.none]


def resource_is_shared(resource: Resource) -> bool:
    """A published resource that is not on the negative list: its grants are live."""
    return resource.status == Status.published and resource.share_type != ShareType.none


def needs_decision(resource: Resource, names: Iterable[str]) -> bool:
    wanted = set(names)
    return any(item_share_type(resource, item) == ShareType.conditional
               for item in resource.items if item.name in wanted)


def negative_list_refusal(resource: Resource, items: list[str] | None = None) -> Conflict:
    """409 ``share_refused_negative_list`` citing the resource's legal basis."""
    basis = resource.legal_basis or "(未注明)"
    if items:
        what = f"信息资源 {resource.code} 的信息项 {', '.join(items)} 不予共享"
    else:
        what = f"信息资源 {resource.code} ({resource.name}) 不予共享"
    return Conflict(f"{what}; 依据: {basis}", code=NEGATIVE_LIST)


def refused_items(resource: Resource, names: Iterable[str]) -> list[str]:
    """The named items that may not be shared."""
    types = {item.name: item_share_type(resource, item) for item in resource.items}
    return [name for name in names if types.get(name) == ShareType.none]
