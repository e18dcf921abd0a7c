"""A base back as files: its ``.HHYP`` through hphost's own writer, its users as a ``.profils``.

A loaded base keeps a *layout* beside its objects (``_layout.json``: the file's timestamp, generator,
entry order and which entries were stored uncompressed), so a file written by hphost's writer
exports byte for byte; a created or changed base has none and is written in the default order.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from hosting.basedb.base import TABLES, BaseDatabases
from hosting.db.models import Assignment, ControllerUser, Planning, Profile
from hosting.errors import Conflict
from hosting.formats.hhyp.writer import HhypWriter
from hosting.jobs.kinds import base_prefix
from hosting.store.base import ObjectStore

LAYOUT = "_layout.json"
GENERATOR = "hphost export"


class NoBaseInService(Conflict):
    """Planning {planning_id} has no base in service."""

    code = "NO_BASE_IN_SERVICE"


@dataclass(frozen=True)
class Layout:
    """How the file a base came from was laid out (entry order, stored entries, its header)."""

    generated_at: str | None = None
    generator: str = GENERATOR
    order: tuple[str, ...] = ()
    stored: frozenset[str] = frozenset()

    def to_json(self) -> bytes:
        return json.dumps({"generated_at": self.generated_at, "generator": self.generator,
                           "order": list(self.order), "stored": sorted(self.stored)}).encode()

    @classmethod
    def of(cls, store: ObjectStore, base_id: str) -> Layout:
        key = base_prefix(base_id) + LAYOUT
        if store.head(key) is None:
            return cls()
        data = json.loads(store.get_bytes(key))
        return cls(data["generated_at"], data["generator"], tuple(data["order"]), frozenset(data["stored"]))


def base_in_service(session: Session, planning_id: str) -> str:
    planning = session.get(Planning, planning_id)
    if planning is None or not planning.current_base_id:
        raise NoBaseInService(planning_id=planning_id, where={"planning_id": planning_id})
    return planning.current_base_id


def annex_paths(store: ObjectStore, base_id: str, layout: Layout) -> list[str]:
    """The base's annexes, in the file's order when it has a layout, else in key order."""
    prefix = base_prefix(base_id)
    present = [info.key.removeprefix(prefix) for info in store.list(prefix + "annexes/")]
    if not layout.order:
        return present
    listed = [path for path in layout.order if path.startswith("annexes/")]
    return listed + sorted(set(present) - set(listed))


def write_base_hhyp(target: BinaryIO, store: ObjectStore, basedbs: BaseDatabases, base_id: str, *,
                    hosting_number: str, layout: Layout | None = None) -> dict[str, Any]:
    """Write the base as a ``.HHYP`` bound to ``hosting_number``; what was written."""
    layout = layout or Layout.of(store, base_id)
    meta = basedbs.meta(base_id)
    generated_at = (dt.datetime.fromisoformat(layout.generated_at) if layout.generated_at
                    else dt.datetime.now(dt.UTC).replace(microsecond=0))
    tables = [path.removeprefix("base/").removesuffix(".jsonl") for path in layout.order if path.startswith("base/")]
    tables = tables or list(TABLES)
    prefix = base_prefix(base_id)
    with HhypWriter(target, hosting_number=hosting_number, base_name=meta.get("base_name") or "base",
                    time_grid=meta["time_grid"], generated_at=generated_at, generator=layout.generator) as writer:
        rows = {table: writer.add_table(table, basedbs.rows(base_id, table)) for table in tables}
        annexes = annex_paths(store, base_id, layout)
        for path in annexes:
            info = store.head(prefix + path)
            assert info is not None
            with store.open_read(prefix + path) as stream:
                writer.add_file(path, stream, compress=path not in layout.stored, size_bytes=info.size_bytes)
    return {"rows": rows, "annexes": len(annexes)}


def planning_profils(session: Session, planning_id: str) -> bytes:
    """The planning's profiles and the users assigned to them, as a ``.profils`` (password hashes only)."""
    from hosting.formats.profils.file import Profile as FileProfile
    from hosting.formats.profils.file import Profils, User, write_profils

    profiles = list(session.scalars(select(Profile).where(Profile.planning_id == planning_id).order_by(Profile.id)))
    names = {profile.id: profile.name for profile in profiles}
    assigned: dict[int, list[str]] = {}
    for user_id, profile_id in session.execute(select(Assignment.user_id, Assignment.profile_id)
                                               .where(Assignment.profile_id.in_(list(names)))):
        assigned.setdefault(user_id, []).append(names[profile_id])
    users = session.scalars(select(ControllerUser).where(ControllerUser.id.in_(list(assigned)))
                            .order_by(ControllerUser.login))
    profils = Profils(dt.datetime.now(dt.UTC).replace(microsecond=0),
                      tuple(FileProfile(p.name, tuple(p.rights)) for p in profiles),
                      tuple(User(login=u.login, last_name=u.last_name, first_name=u.first_name,
                                 profiles=tuple(sorted(assigned[u.id])), email=u.email, status=u.status,
                                 password_hash=u.password_hash) for u in users))
    out = io.BytesIO()
    write_profils(out, profils)
    return out.getvalue()
