"""The Contrôleur: users of a hosting and their assignment to a planning's profiles.

"Récupérer tous les utilisateurs et leurs autorisations" upserts by login and
by profile name, so running it twice gives the state of running it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hosting.db.models import Assignment, ControllerUser, Profile, SealedSecret
from hosting.passwords import generate_password, hash_generated
from hosting.sealing import Sealer

if TYPE_CHECKING:  # the .profils reader loads jsonschema; the console imports this module without it
    from hosting.formats.profils import file as pf


@dataclass
class AssignReport:
    users_created: int = 0
    users_updated: int = 0
    profiles_created: int = 0
    profiles_updated: int = 0
    assignments: int = 0
    users_pruned: int = 0
    passwords_generated: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def assign_profils(session: Session, *, hosting_number: str, planning_id: str, profils: pf.Profils,
                   job_id: str, sealer: Sealer, prune: bool = False) -> AssignReport:
    """Apply a validated ``.profils`` to a planning, in the caller's transaction."""
    report = AssignReport()
    profiles = _upsert_profiles(session, planning_id, profils.profiles, report)
    users = _upsert_users(session, hosting_number, profils.users, job_id, sealer, report)
    session.flush()
    planning_profile_ids = [p.id for p in profiles.values()]
    wanted = {(users[u.login.casefold()].id, profiles[name.casefold()].id)
              for u in profils.users for name in u.profiles}
    touched = {users[u.login.casefold()].id for u in profils.users}
    if prune:
        touched |= set(session.scalars(
            select(Assignment.user_id).where(Assignment.profile_id.in_(planning_profile_ids))))
    _replace_assignments(session, planning_profile_ids, touched, wanted)
    report.assignments = len(wanted)
    if prune:
        report.users_pruned = len(touched - {users[u.login.casefold()].id for u in profils.users})
    return report


def _upsert_profiles(session: Session, planning_id: str, wanted: Iterable[pf.Profile],
                     report: AssignReport) -> dict[str, Profile]:
    existing = {p.name_key: p for p in session.scalars(select(Profile).where(Profile.planning_id == planning_id))}
    for item in wanted:
        key = item.name.casefold()
        profile = existing.get(key)
        if profile is None:
            profile = Profile(planning_id=planning_id, name=item.name, name_key=key, rights=list(item.rights))
            session.add(profile)
            existing[key] = profile
            report.profiles_created += 1
        elif (profile.name, profile.rights) != (item.name, list(item.rights)):
            profile.name, profile.rights = item.name, list(item.rights)
            report.profiles_updated += 1
    return existing


def _upsert_users(session: Session, hosting_number: str, wanted: Iterable[pf.User], job_id: str, sealer: Sealer,
                  report: AssignReport) -> dict[str, ControllerUser]:
    query = select(ControllerUser).where(ControllerUser.hosting_number == hosting_number)
    existing = {u.login.casefold(): u for u in session.scalars(query)}
    for item in wanted:
        key = item.login.casefold()
        fields = {"last_name": item.last_name, "first_name": item.first_name,
                  "email": item.email, "status": item.status}
        user = existing.get(key)
        if user is None:
            password_hash = item.password_hash or _generated(session, job_id, hosting_number,
                                                             item.login, sealer, report)
            user = ControllerUser(hosting_number=hosting_number, login=item.login,
                                  password_hash=password_hash, **fields)
            session.add(user)
            existing[key] = user
            report.users_created += 1
            continue
        if item.password_hash and item.password_hash != user.password_hash:
            fields["password_hash"] = item.password_hash
        if any(getattr(user, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(user, name, value)
            report.users_updated += 1
    return existing


def _generated(session: Session, job_id: str, hosting_number: str, login: str, sealer: Sealer,
               report: AssignReport) -> str:
    # Shown to the operator once (``hphost jobs credentials``), then deleted.
    password = generate_password(14)
    session.add(SealedSecret(job_id=job_id, hosting_number=hosting_number,
                             subject=f"user:{login}", sealed=sealer.seal(password)))
    report.passwords_generated += 1
    return hash_generated(password)


def _replace_assignments(session: Session, profile_ids: list[int], user_ids: set[int],
                         wanted: set[tuple[int, int]]) -> None:
    if not profile_ids:
        return
    current = set(session.execute(
        select(Assignment.user_id, Assignment.profile_id)
        .where(Assignment.profile_id.in_(profile_ids), Assignment.user_id.in_(user_ids))))
    for user_id, profile_id in current - wanted:
        session.execute(delete(Assignment).where(Assignment.user_id == user_id,
                                                 Assignment.profile_id == profile_id))
    session.add_all(Assignment(user_id=u, profile_id=p) for u, p in wanted - current)


def reveal_credentials(session: Session, job_id: str, sealer: Sealer) -> dict[str, str]:
    """The job's generated passwords, once: they are deleted as they are read."""
    rows = list(session.scalars(select(SealedSecret).where(SealedSecret.job_id == job_id)))
    revealed = {row.subject.removeprefix("user:"): sealer.open(row.sealed) for row in rows}
    for row in rows:
        session.delete(row)
    return revealed
