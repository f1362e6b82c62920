"""Desensitisation on the public side (RULES.md §4), decided in this one place.

Every public path that shows data — our records and downloads, CKAN's ``datastore_search``
and ``/datastore/dump``, the pages' previews — reads through ``query_rows`` or
``plan_export`` with ``public_masks(resource)``:

- an item with a personal sensitivity (ID number, phone, name, address, bank card) is shown
  masked, and cannot be filtered, sorted or searched on (that would reveal it);
- an item that is ``secret``, or whose own open type is ``none``, is not there at all;
- a column of the loaded data that the catalog no longer lists is not there either: the
  public sees only what the catalog describes.

``public_items(resource)`` is the data dictionary the public sees (metadata paths).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping

from govdata.catalog.datastore import masks as masking
from govdata.catalog.models import DataItem, Resource

DROPPED = "secret"


def is_public_item(item: DataItem) -> bool:
    return item.open_type != "none" and not masking.is_dropped(item.sensitivity)


def public_items(resource: Resource) -> list[DataItem]:
    return [item for item in resource.items if is_public_item(item)]


class PublicMasks(Mapping[str, str]):
    """``{item name: sensitivity}`` for ``query_rows``/``plan_export``; any name it was not
    built with (a column the catalog does not list) reads as dropped."""

    def __init__(self, resource: Resource, only: Collection[str] | None = None) -> None:
        self._known = {item.name: (item.sensitivity or "none")
                       if is_public_item(item) and (only is None or item.name in only)
                       else DROPPED for item in resource.items}

    def __getitem__(self, name: str) -> str:
        return self._known.get(name, DROPPED)

    def __iter__(self) -> Iterator[str]:
        return iter(self._known)

    def __len__(self) -> int:
        return len(self._known)


def public_masks(resource: Resource, only: Collection[str] | None = None
                 ) -> Mapping[str, str]:
    """The masks of every public path; ``only`` (an applicant's granted items) drops
    every other item too."""
    return PublicMasks(resource, only)
