"""Deterministic sample files: a ``.HHYP`` of a made-up institution and its matching ``.profils``.

The same preset, student count and seed always give the same bytes (no clock,
no network, no fixtures). Presets: ``small`` (a few dozen students, for
tests), ``school`` (~1,500 students), ``university`` (25,000 students, 1,500
teachers, 600 rooms, 100,000 courses, 3,000 photos); ``students`` scales any
preset, everything else in proportion.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hosting.formats.hhyp.writer import HhypWriter
from hosting.formats.profils.file import Profile, Profils, User, write_profils
from hosting.timegrid import TimeGrid
from hphost_samples.annex_bytes import document_pdf, photo_png
from hphost_samples.institution import Institution, Shape

PRESETS = {
    "small": Shape(students=48, teachers=8, rooms=6, subjects=10, courses=60, photos=12, documents=3,
                   promotion_size=24, td_size=12),
    "school": Shape(students=1_500, teachers=120, rooms=60, subjects=60, courses=6_000, photos=300, documents=20,
                    promotion_size=150, td_size=30),
    "university": Shape(students=25_000, teachers=1_500, rooms=600, subjects=400, courses=100_000, photos=3_000,
                        documents=200),
}
SAMPLE_GRID = {"first_monday": "2026-08-31", "weeks": 44, "working_days": ["mon", "tue", "wed", "thu", "fri", "sat"],
               "day_start": "08:00", "sequences_per_day": 12, "sequence_minutes": 60, "steps_per_sequence": 4}
GENERATED_AT = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
_TABLES = ("subjects", "teachers", "rooms", "groups", "students", "courses")


@dataclass(frozen=True)
class SampleSummary:
    hhyp_bytes: int
    rows: dict[str, int]
    photos: int
    documents: int
    profils_users: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def preset_shape(preset: str, students: int | None = None) -> Shape:
    """The shape of ``preset``, scaled to ``students`` when given."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    shape = PRESETS[preset]
    return shape.scaled_to(students) if students else shape


def generate_sample(path: str | os.PathLike[str], *, hosting_number: str, preset: str = "small",
                    students: int | None = None, seed: int = 0,
                    profils_path: str | os.PathLike[str] | None = None, photos: int | None = None) -> SampleSummary:
    """Write a sample ``.HHYP`` (and its ``.profils`` when ``profils_path`` is given).

    ``photos`` overrides the scaled number of photos (to grow rows without growing entries).
    """
    shape = preset_shape(preset, students)
    if photos is not None:
        shape = replace(shape, photos=photos)
    grid = TimeGrid.from_dict(SAMPLE_GRID)
    institution = Institution(shape, grid, seed)
    rows: dict[str, int] = {}
    with HhypWriter(path, hosting_number=hosting_number, base_name=f"Université Exemple {preset} {seed}",
                    time_grid=grid, generated_at=GENERATED_AT, generator="hphost sample") as writer:
        for table in _TABLES:
            rows[table] = writer.add_table(table, getattr(institution, table)())
        photo_rng = random.Random(f"{seed}:photos")
        for photo in institution.photo_paths:
            writer.add_file(photo, photo_png(photo_rng), compress=False)
        for document in institution.document_paths:
            writer.add_file(document, _syllabus(document))
    users = None
    if profils_path is not None:
        profils = sample_profils(institution)
        write_profils(profils_path, profils)
        users = len(profils.users)
    return SampleSummary(Path(path).stat().st_size, rows, len(institution.photo_paths),
                         len(institution.document_paths), users)


def sample_profils(institution: Institution) -> Profils:
    """Profiles of a typical institution; every teacher and some staff as users."""
    everything = ("courses.read", "courses.edit", "rooms.read", "rooms.book", "students.read", "students.edit",
                  "teachers.read", "teachers.edit", "absences.read", "absences.edit", "exports.run",
                  "imports.run", "espaces.publish", "users.manage")
    profiles = (
        Profile("Administration", everything),
        Profile("Secrétariat pédagogique", ("courses.read", "courses.edit", "rooms.read", "rooms.book",
                                            "students.read", "students.edit", "absences.read", "absences.edit")),
        Profile("Enseignant", ("courses.read", "rooms.read", "students.read", "absences.read", "absences.edit")),
        Profile("Consultation", ("courses.read", "rooms.read")),
    )
    rng = random.Random(f"{institution.seed}:profils")
    users = [User(login=f"{_login(row['first_name'])[0]}{_login(row['last_name'])}.{row['id'].lower()}",
                  last_name=row["last_name"], first_name=row["first_name"], email=row["email"],
                  profiles=("Enseignant",)) for row in institution.teachers()]
    staff = max(3, institution.shape.students // 100)
    for k in range(staff):
        status = "superadministrator" if k == 0 else ("base_administrator" if k < 3 else "user")
        profile = "Administration" if k < 3 else ("Secrétariat pédagogique" if k % 2 else "Consultation")
        users.append(User(login=f"staff{k:04d}", last_name=rng.choice(("Durand", "Leroy", "Morel")),
                          first_name=rng.choice(("Anne", "Paul", "Claire")), email=f"staff{k}@univ-exemple.fr",
                          status=status, profiles=(profile,),
                          password_hash=_scrypt_hash(rng) if k < 3 else None))
    return Profils(GENERATED_AT, profiles, tuple(users))


def _scrypt_hash(rng: random.Random) -> str:
    # A throw-away password drawn from the seed: sample accounts are never meant to be logged into.
    n, r, p = 2**10, 8, 1
    salt = rng.randbytes(16)
    digest = hashlib.scrypt(rng.randbytes(18), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _syllabus(path: str) -> bytes:
    subject = path.rsplit("-", 1)[1].removesuffix(".pdf")
    return document_pdf(f"Syllabus {subject}", ["Objectifs du cours", "Organisation: CM, TD et TP",
                                                "Evaluation: controle continu et examen terminal"])


def _login(text: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return "".join(char for char in folded if char.isalnum())
