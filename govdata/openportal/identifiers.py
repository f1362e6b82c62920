"""Identifiers the CKAN side needs that the catalog does not have.

A dataset's data (its datastore table) is one CKAN resource. Its id is derived from the
catalog resource's UUID by a fixed XOR that leaves the UUID's version and variant bits
alone: a valid, stable UUID that is never the dataset's own id, and that maps back to the
catalog resource without a lookup table.
"""

from __future__ import annotations

import uuid

# Zero in the version nibble (bits 76–79) and the variant bits (62–63).
_MASK = 0x5DA7A5E0_0D47_0A11_3C0D_0A7A5E7ED475


def datastore_resource_id(resource_id: str) -> str:
    return str(uuid.UUID(int=uuid.UUID(resource_id).int ^ _MASK))


def resource_id_of_datastore(datastore_id: str) -> str | None:
    """The catalog resource id a datastore resource id stands for (``None`` if the text is
    not a UUID at all)."""
    try:
        value = uuid.UUID(datastore_id)
    except (ValueError, AttributeError, TypeError):
        return None
    return str(uuid.UUID(int=value.int ^ _MASK))
