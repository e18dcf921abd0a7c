"""Hostings and plannings: the Configuration pane of the hosting console."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hosting import audit
from hosting.db.models import Hosting, Planning, utcnow
from hosting.errors import Conflict, InvalidInput, NotFound, PermanentError
from hosting.passwords import generate_password, hash_password, verify_password

HOSTING_NUMBER = re.compile(r"[0-9]{12}")  # (not \d: it takes every script's digits, "١٢" too)
INVOICE_NUMBER = re.compile(r"[0-9]{10}")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class DomainTaken(Conflict):
    """The domain {domain} is already used by another planning."""

    code = "DOMAIN_TAKEN"


class BadCredentials(PermanentError):
    """Hosting number, password or invoice number is wrong."""

    code = "BAD_CREDENTIALS"


def validate_domain(value: str, field: str) -> str:
    """An RFC 1123 host name, lower-cased; raises ``INVALID_INPUT`` otherwise."""
    name = value.strip().lower().rstrip(".")
    labels = name.split(".")
    if not name or len(name) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        raise InvalidInput(field=field, reason="not an RFC 1123 host name", where={"field": field})
    return name


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
    session.add(Hosting(number=number, name=name, password_hash=hash_password(password)))
    audit.record(session, "hosting.created", actor=actor, hosting_number=number)
    return password


def console_login(session: Session, number: str, password: str, invoice: str | None, *, actor: str) -> bool:
    """Check console credentials; the first login binds the paid invoice number.

    Refusals are audited too, so the caller commits either way and raises
    ``BadCredentials`` after the commit when this returns False.
    """
    hosting = session.get(Hosting, number)
    ok = hosting is not None and verify_password(password, hosting.password_hash)
    if ok and hosting is not None and hosting.invoice_number is None:
        ok = invoice is not None and INVOICE_NUMBER.fullmatch(invoice) is not None
        if ok:
            hosting.invoice_number, hosting.bound_at = invoice, utcnow()
            audit.record(session, "hosting.bound", actor=actor, hosting_number=number)
    action = "security.login" if ok else "security.login_refused"
    audit.record(session, action, actor=actor, hosting_number=number)
    return ok


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
    session.flush()
    audit.record(session, "planning.created", actor=actor, planning_id=planning.id,
                 hosting_number=hosting_number)
    return planning


def configure_planning(session: Session, planning_id: str, cfg: PlanningSettings, *, actor: str) -> Planning:
    planning = get_planning(session, planning_id)
    changed = _apply(session, planning, cfg)
    audit.record(session, "planning.configured", actor=actor, planning_id=planning.id,
                 hosting_number=planning.hosting_number, fields=sorted(changed))
    return planning


def get_planning(session: Session, ident: str) -> Planning:
    """A planning by id, or by name when the name is unambiguous."""
    planning = session.get(Planning, ident)
    if planning is None:
        found = list(session.scalars(select(Planning).where(Planning.name == ident)).all())
        planning = found[0] if len(found) == 1 else None
    if planning is None:
        raise NotFound(kind="Planning", ident=ident, where={"planning": ident})
    return planning


def _apply(session: Session, planning: Planning, cfg: PlanningSettings) -> set[str]:
    changed: set[str] = set()
    if cfg.name is not None:
        name = cfg.name.strip()
        if not 1 <= len(name) <= 200:
            raise InvalidInput(field="name", reason="1 to 200 characters", where={"field": "name"})
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
    _check_domains_free(session, planning)
    return changed


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
