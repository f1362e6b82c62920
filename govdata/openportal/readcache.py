"""The open datasets as the data reads see them (``datastore_search``, records, dumps):
the catalog resource with its data items and current data version, kept per process and
checked on every read.

Loading a resource with its items and version through the ORM costs more than the page of
data the read then serves. So each process keeps what it loaded, keyed by a fingerprint
that every read asks of the database first, in one small query: the resource's id,
version, last change, status and open type, its current data version, and every data
item's id, name, type, open type and sensitivity as text. A change by any path — a catalog
edit, publication, retirement, a new data load, even an UPDATE of an item's sensitivity
made outside the services — gives another fingerprint, and that read loads the resource
afresh: a read never uses a stale item list, so never a stale mask. A resource that is
not an open dataset has no fingerprint and is not found.

The cached objects are detached from every session (loaded by a session of their own)
and only read.
"""

from __future__ import annotations

from sqlalchemy import String, and_, bindparam, cast, func, literal, select
from sqlalchemy.orm import Session, joinedload

from govdata.catalog.datastore.matching import LruCache
from govdata.catalog.models import DataItem, DataVersion, Resource
from govdata.openportal.vocab import PUBLIC_OPEN_TYPES

_CACHE = LruCache(1024)


def _item_text():
    item = DataItem.__table__
    parts = [cast(item.c.id, String), item.c.name, item.c.data_type,
             func.coalesce(item.c.open_type, ""), func.coalesce(item.c.sensitivity, "")]
    text = parts[0]
    for part in parts[1:]:
        text = text + literal(":") + part
    return (select(func.aggregate_strings(text, ","))
            .where(item.c.resource_id == Resource.__table__.c.id).scalar_subquery())


def _fingerprint_of(key_column):
    resource, version = Resource.__table__, DataVersion.__table__
    return (select(resource.c.id, resource.c.version, resource.c.updated_at,
                   resource.c.status, resource.c.open_type, version.c.id, version.c.loaded_at,
                   _item_text())
            .select_from(resource.outerjoin(version, and_(version.c.resource_id == resource.c.id,
                                                          version.c.is_current)))
            .where(key_column == bindparam("key"), resource.c.status == "published",
                   resource.c.open_type.in_(PUBLIC_OPEN_TYPES)))


_BY_ID = _fingerprint_of(Resource.__table__.c.id)
_BY_CODE = _fingerprint_of(Resource.__table__.c.code)


def open_resource_by_id(session: Session, resource_id: str) -> Resource | None:
    return _cached(session, _BY_ID, resource_id)


def open_resource_by_code(session: Session, code: str) -> Resource | None:
    return _cached(session, _BY_CODE, code)


def _cached(session: Session, statement, key: str) -> Resource | None:
    row = session.execute(statement, {"key": key}).first()
    if row is None:
        return None
    fingerprint = tuple(row)
    resource = _CACHE.get(fingerprint)
    if resource is None:
        resource = _load(session, row[0])
        _CACHE.put(fingerprint, resource)
    return resource


def _load(session: Session, resource_id: str) -> Resource:
    """The resource, its department, items and current version, in one query of a session
    of its own on the request's connection (same transaction), closed at once: the objects
    it returns belong to no session."""
    with Session(bind=session.connection(), expire_on_commit=False) as loader:
        return loader.scalars(
            select(Resource).where(Resource.id == resource_id)
            .options(joinedload(Resource.items), joinedload(Resource.current_data))
        ).unique().one()
