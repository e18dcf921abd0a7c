"""Hostings and plannings: the Configuration pane of the hosting console."""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hosting import audit
from hosting.db.models import Hosting, Planning
from hosting.errors import Conflict, InvalidInput, NotFound, PermanentError
from hosting.passwords import generate_password, hash_password

HOSTING_NUMBER = re.compile(r"[0-9]{12}")  # (not \d: it takes every script's digits, "١٢" too)
INVOICE_NUMBER = re.compile(r"[0-9]{10}")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class DomainTaken(Conflict):
    """The domain {domain} is already used by another planning."""

    code = "DOMAIN_TAKEN"


class PlanningNameTaken(Conflict):
    """Hosting {hosting_number} already has a planning named {name!r}."""

    code = "PLANNING_NAME_TAKEN"


class PlanningAmbiguous(PermanentError):
    """Several hostings have a planning named {name!r} ({hostings}); give --hosting or the planning id."""

    code = "PLANNING_AMBIGUOUS"


def validate_domain(value: str, field: str) -> str:
    """An RFC 1123 host name, lower-cased; raises ``INVALID_INPUT`` otherwise (an IP address too)."""
    name = value.strip().lower().rstrip(".")
    if _is_ip_literal(name):
        raise InvalidInput(field=field, reason="an IP address, not a host name", where={"field": field})
    labels = name.split(".")
    if not name or len(name) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        raise InvalidInput(field=field, reason="not an RFC 1123 host name", where={"field": field})
    return name


def _is_ip_literal(name: str) -> bool:
    # An all-digit top label is never a host name (RFC 3696 2): it also catches the forms
    # inet_aton takes and ip_address does not ("127.1", "0x7f.0.0.1").
    top_label = name.rsplit(".", 1)[-1]
    try:
        ipaddress.ip_address(name.removeprefix("[").removesuffix("]").split("%")[0])
    except ValueError:
        return top_label.isascii() and top_label.isdigit()
    return True


def validate_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            field="time_zone", reason="not an IANA time zone", where={"field": "time_zone"}
        ) from None
    return value


def create_hosting(session: Session, number: str, *, name: str = "", actor: str) -> str:
    """Create a hosting account; returns its console password, shown once and never stored."""
    if not HOSTING_NUMBER.fullmatch(number):
        raise InvalidInput(field="hosting_number", reason="expected 12 digits", where={"field": "hosting_number"})
    if session.get(Hosting, number) is not None:
        raise Conflict(f"Hosting {number} already exists.", where={"hosting_number": number})
    password = generate_password(14)
    # scrypt although generated: its owner may change it, and a login's cost must match dummy_hash()'s.
    session.add(Hosting(number=number, name=name, password_hash=hash_password(password)))
    audit.record(session, "hosting.created", actor=actor, hosting_number=number)
    return password


@dataclass
class PlanningSettings:
    """What the Configuration pane sets; None leaves a field unchanged."""

    name: str | None = None
    controller_domain: str | None = None
    domain: str | None = None
    associate_net: bool | None = None
    time_zone: str | None = None
    publication_name: str | None = None


def create_planning(session: Session, hosting_number: str, cfg: PlanningSettings, *, actor: str) -> Planning:
    if session.get(Hosting, hosting_number) is None:
        raise NotFound(kind="Hosting", ident=hosting_number, where={"hosting_number": hosting_number})
    for field in ("name", "controller_domain", "domain"):
        if not getattr(cfg, field):
            raise InvalidInput(field=field, reason="required", where={"field": field})
    planning = Planning(
        id=uuid.uuid4().hex, hosting_number=hosting_number, name="", controller_domain="", domain=""
    )
    _apply(session, planning, cfg)
    session.add(planning)
    _flush_unique_name(session, planning)
    audit.record(session, "planning.created", actor=actor, planning_id=planning.id,
                 hosting_number=hosting_number)
    return planning


def configure_planning(session: Session, planning_id: str, cfg: PlanningSettings, *, actor: str,
                       hosting: str | None = None) -> Planning:
    planning = get_planning(session, planning_id, hosting=hosting)
    changed = _apply(session, planning, cfg)
    _flush_unique_name(session, planning)
    audit.record(session, "planning.configured", actor=actor, planning_id=planning.id,
                 hosting_number=planning.hosting_number, fields=sorted(changed))
    return planning


def get_planning(session: Session, ident: str, *, hosting: str | None = None) -> Planning:
    """A planning by id, or by name within ``hosting``.

    Without a hosting, a name held by one hosting only is taken; a name several hostings
    hold is refused (``PLANNING_AMBIGUOUS``, naming them). An id is always accepted, but
    never one of another hosting than the one given.
    """
    if hosting is not None and session.get(Hosting, hosting) is None:
        raise NotFound(kind="Hosting", ident=hosting, where={"hosting_number": hosting})
    planning = session.get(Planning, ident)
    if planning is None:
        query = select(Planning).where(Planning.name == ident.strip()).order_by(Planning.hosting_number)
        if hosting is not None:
            query = query.where(Planning.hosting_number == hosting)
        found = list(session.scalars(query))
        if len(found) > 1:
            hostings = [p.hosting_number for p in found]
            raise PlanningAmbiguous(name=ident, hostings=", ".join(hostings),
                                    where={"planning": ident, "hostings": hostings})
        planning = found[0] if found else None
    if planning is None or (hosting is not None and planning.hosting_number != hosting):
        where = {"planning": ident} | ({"hosting_number": hosting} if hosting else {})
        raise NotFound(kind="Planning", ident=ident, where=where)
    return planning


def list_plannings(session: Session, *, hosting: str | None = None) -> list[Planning]:
    """Plannings by hosting, then name; only ``hosting``'s when given."""
    query = select(Planning).order_by(Planning.hosting_number, Planning.name)
    if hosting is not None:
        if session.get(Hosting, hosting) is None:
            raise NotFound(kind="Hosting", ident=hosting, where={"hosting_number": hosting})
        query = query.where(Planning.hosting_number == hosting)
    return list(session.scalars(query))


def list_hostings(session: Session) -> list[tuple[Hosting, int]]:
    """Every hosting with its number of plannings, by number."""
    counts = (select(Planning.hosting_number, func.count().label("plannings"))
              .group_by(Planning.hosting_number).subquery())
    query = (select(Hosting, func.coalesce(counts.c.plannings, 0))
             .outerjoin(counts, counts.c.hosting_number == Hosting.number).order_by(Hosting.number))
    return [(hosting, int(count)) for hosting, count in session.execute(query)]


def _apply(session: Session, planning: Planning, cfg: PlanningSettings) -> set[str]:
    changed: set[str] = set()
    if cfg.name is not None:
        name = cfg.name.strip()
        if not 1 <= len(name) <= 200:
            raise InvalidInput(field="name", reason="1 to 200 characters", where={"field": "name"})
        _check_name_free(session, planning, name)
        planning.name = name
        changed.add("name")
    if cfg.domain is not None:
        planning.domain = validate_domain(cfg.domain, "domain")
        changed.add("domain")
    if cfg.controller_domain is not None:
        planning.controller_domain = validate_domain(cfg.controller_domain, "controller_domain")
        changed.add("controller_domain")
    if cfg.time_zone is not None:
        planning.time_zone = validate_time_zone(cfg.time_zone)
        changed.add("time_zone")
    if cfg.associate_net is not None:
        planning.associate_net = cfg.associate_net
        changed.add("associate_net")
    if cfg.publication_name is not None:
        planning.publication_name = cfg.publication_name.strip() or None
        changed.add("publication_name")
    with session.no_autoflush:  # the flush is _flush_unique_name's, where a lost race on the name is told
        _check_domains_free(session, planning)
    return changed


def _check_name_free(session: Session, planning: Planning, name: str) -> None:
    """Names are unique per hosting (two hostings may both have a "Lycée A")."""
    other = session.scalar(select(Planning.id).where(
        Planning.hosting_number == planning.hosting_number, Planning.name == name, Planning.id != planning.id))
    if other is not None:
        raise _name_taken(planning.hosting_number, name)


def _flush_unique_name(session: Session, planning: Planning) -> None:
    """Flush; a concurrent request that took the name first loses here, on the unique constraint."""
    hosting_number, name = planning.hosting_number, planning.name  # a failed flush expires them
    try:
        session.flush()
    except IntegrityError as exc:
        if "uq_plannings_hosting_name" in str(exc.orig) or "plannings.hosting_number, plannings.name" in str(exc.orig):
            raise _name_taken(hosting_number, name) from exc
        raise


def _name_taken(hosting_number: str, name: str) -> PlanningNameTaken:
    return PlanningNameTaken(hosting_number=hosting_number, name=name,
                             where={"field": "name", "hosting_number": hosting_number, "name": name})


def _check_domains_free(session: Session, planning: Planning) -> None:
    """A user-visible domain belongs to one planning; a Controller domain to one hosting."""
    mine = [planning.domain, planning.controller_domain]
    if planning.domain == planning.controller_domain:
        raise DomainTaken(domain=planning.domain, where={"field": "domain", "domain": planning.domain})
    others = session.scalars(select(Planning).where(
        Planning.id != planning.id,
        or_(Planning.domain.in_(mine), Planning.controller_domain.in_(mine))))
    for other in others:
        if planning.domain in (other.domain, other.controller_domain):
            raise DomainTaken(domain=planning.domain, where={"field": "domain", "domain": planning.domain})
        if planning.controller_domain == other.domain or other.hosting_number != planning.hosting_number:
            raise DomainTaken(domain=planning.controller_domain,
                              where={"field": "controller_domain", "domain": planning.controller_domain})
