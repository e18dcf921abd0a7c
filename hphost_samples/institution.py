"""A made-up but realistic institution, row by row, from a seeded random source.

Promotions split into TD groups, each split into two TP groups; students sit
in one TD and one of its TPs; courses are lectures for a promotion, tutorials
for a TD, practicals for a TP, placed on the grid over a semester's weeks
(some left unplaced). Rows are generated lazily: a 25,000-student university
never sits in memory.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from hosting.timegrid import TimeGrid

LAST_NAMES = ("Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
              "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
              "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Müller", "Lefebvre", "Faure",
              "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand",
              "Gauthier", "Garcia", "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu")
FIRST_NAMES = ("Léa", "Emma", "Chloé", "Manon", "Camille", "Inès", "Jade", "Louise", "Zoé", "Anaïs", "Hugo",
               "Lucas", "Louis", "Nathan", "Gabriel", "Jules", "Raphaël", "Arthur", "Théo", "Noé", "Marie", "Anne",
               "Jean", "Pierre", "Élodie", "Céline", "Françoise", "Hélène", "Mathis", "Enzo", "Maël", "Yanis")
DISCIPLINES = ("Mathématiques", "Physique", "Chimie", "Informatique", "Biologie", "Économie", "Droit", "Histoire",
               "Géographie", "Anglais", "Espagnol", "Philosophie", "Sociologie", "Statistiques", "Gestion",
               "Électronique", "Mécanique", "Psychologie", "Lettres modernes", "Sciences politiques")
LEVELS = ("L1", "L2", "L3", "M1", "M2")
DURATIONS_MINUTES = (60, 90, 120, 180)


@dataclass(frozen=True)
class Shape:
    """How big the institution is."""

    students: int
    teachers: int
    rooms: int
    subjects: int
    courses: int
    photos: int
    documents: int
    promotion_size: int = 200
    td_size: int = 32

    def scaled_to(self, students: int) -> Shape:
        """The same institution with ``students`` students, everything else in proportion."""
        factor = students / self.students
        grown = {name: max(1, round(getattr(self, name) * factor))
                 for name in ("teachers", "rooms", "subjects", "courses", "photos", "documents")}
        return replace(self, students=max(1, students), **grown)


class Institution:
    """Rows of every table of one institution; each table can be iterated once, in any order."""

    def __init__(self, shape: Shape, grid: TimeGrid, seed: int):
        self.shape = shape
        self.grid = grid
        self.seed = seed
        self.promotions = max(1, -(-shape.students // shape.promotion_size))
        self.tds_per_promotion = max(1, -(-min(shape.students, shape.promotion_size) // shape.td_size))
        self.photo_paths = [f"annexes/photos/{ident}.png" for ident in self._photo_owners()]
        self.document_paths = [f"annexes/documents/syllabus-{self.subject_id(k)}.pdf"
                               for k in range(min(shape.documents, shape.subjects))]

    def _rng(self, table: str) -> random.Random:
        return random.Random(f"{self.seed}:{table}")

    def subject_id(self, k: int) -> str:
        return f"S{k:04d}"

    def _photo_owners(self) -> Iterator[str]:
        teachers = min(self.shape.photos, self.shape.teachers)
        yield from (f"T{k:05d}" for k in range(teachers))
        yield from (f"E{k:06d}" for k in range(min(self.shape.photos - teachers, self.shape.students)))

    def subjects(self) -> Iterator[dict[str, Any]]:
        rng = self._rng("subjects")
        for k in range(self.shape.subjects):
            discipline, level = DISCIPLINES[k % len(DISCIPLINES)], LEVELS[(k // len(DISCIPLINES)) % len(LEVELS)]
            code = f"{_ascii(discipline)[:3].upper()}{100 * (1 + LEVELS.index(level)) + k // 100 % 100:03d}"
            yield {"id": self.subject_id(k), "code": f"{code}-{k}",
                   "name": f"{discipline} {level}" + (f" ({rng.choice(('CM', 'TD', 'TP'))})" if k >= 100 else "")}

    def teachers(self) -> Iterator[dict[str, Any]]:
        rng = self._rng("teachers")
        for k in range(self.shape.teachers):
            last, first = rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES)
            row = {"id": f"T{k:05d}", "last_name": last, "first_name": first,
                   "email": f"{_ascii(first)}.{_ascii(last)}{k}@univ-exemple.fr".lower()}
            if k < self.shape.photos:
                row["photo"] = f"annexes/photos/T{k:05d}.png"
            yield row

    def rooms(self) -> Iterator[dict[str, Any]]:
        rng = self._rng("rooms")
        for k in range(self.shape.rooms):
            if k % 20 == 0:
                yield {"id": f"R{k:04d}", "name": f"Amphithéâtre {k // 20 + 1}",
                       "capacity": rng.randrange(150, 450, 10)}
            elif k % 4 == 0:
                yield {"id": f"R{k:04d}", "name": f"Salle TP {k:03d}", "capacity": rng.randrange(16, 25)}
            else:
                yield {"id": f"R{k:04d}", "name": f"Salle {chr(65 + k % 6)}{k:03d}", "capacity": rng.randrange(24, 45)}

    def groups(self) -> Iterator[dict[str, Any]]:
        for p in range(self.promotions):
            level, discipline = LEVELS[p % len(LEVELS)], DISCIPLINES[(p // len(LEVELS)) % len(DISCIPLINES)]
            yield {"id": f"P{p:03d}", "name": f"{level} {discipline} {p // 100 + 1}", "kind": "promotion"}
            for t in range(self.tds_per_promotion):
                yield {"id": f"TD{p:03d}.{t:02d}", "name": f"TD {t + 1}", "kind": "td", "parent": f"P{p:03d}"}
                for half in (1, 2):
                    yield {"id": f"TP{p:03d}.{t:02d}.{half}", "name": f"TP {t + 1}{'ab'[half - 1]}", "kind": "tp",
                           "parent": f"TD{p:03d}.{t:02d}"}

    def students(self) -> Iterator[dict[str, Any]]:
        rng = self._rng("students")
        photos = len(self.photo_paths) - min(self.shape.photos, self.shape.teachers)
        for k in range(self.shape.students):
            p, rank = divmod(k, self.shape.promotion_size)
            t = min(rank // self.shape.td_size, self.tds_per_promotion - 1)
            last, first = rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES)
            row: dict[str, Any] = {"id": f"E{k:06d}", "number": f"{2026000000 + k}", "last_name": last,
                                   "first_name": first, "email": f"e{k}@etu.univ-exemple.fr",
                                   "groups": [f"TD{p:03d}.{t:02d}", f"TP{p:03d}.{t:02d}.{1 + rank % 2}"]}
            if k < photos:
                row["photo"] = f"annexes/photos/E{k:06d}.png"
            yield row

    def courses(self) -> Iterator[dict[str, Any]]:
        rng = self._rng("courses")
        step_minutes = self.grid.step_minutes
        durations = [d // step_minutes for d in DURATIONS_MINUTES if d % step_minutes == 0 and d // step_minutes
                     <= self.grid.steps_per_day] or [1]
        for k in range(self.shape.courses):
            yield self._course(rng, k, durations)

    def _course(self, rng: random.Random, k: int, durations: list[int]) -> dict[str, Any]:
        p = rng.randrange(self.promotions)
        kind = rng.random()
        if kind < 0.2:
            group, room = f"P{p:03d}", f"R{20 * rng.randrange(max(1, self.shape.rooms // 20)):04d}"
        elif kind < 0.6:
            group, room = f"TD{p:03d}.{rng.randrange(self.tds_per_promotion):02d}", self._room(rng)
        else:
            td = rng.randrange(self.tds_per_promotion)
            group, room = f"TP{p:03d}.{td:02d}.{rng.randrange(1, 3)}", self._room(rng)
        subject = (p * 7 + rng.randrange(8)) % self.shape.subjects
        teachers = [f"T{rng.randrange(self.shape.teachers):05d}" for _ in range(1 + (rng.random() < 0.1))]
        row: dict[str, Any] = {"id": f"C{k:07d}", "subject": self.subject_id(subject), "teachers": teachers,
                               "groups": [group], "rooms": [room], "duration_steps": rng.choice(durations)}
        if rng.random() < 0.92:
            row["placement"] = self._placement(rng, row["duration_steps"])
        if subject < len(self.document_paths) and rng.random() < 0.5:
            row["documents"] = [self.document_paths[subject]]
        return row

    def _room(self, rng: random.Random) -> str:
        return f"R{rng.randrange(self.shape.rooms):04d}"

    def _placement(self, rng: random.Random, duration: int) -> dict[str, Any]:
        grid = self.grid
        half = max(1, grid.weeks // 2)
        first = 1 if rng.random() < 0.5 else min(grid.weeks, half + 1)
        last = min(grid.weeks, first + half - 1)
        every = 2 if rng.random() < 0.25 else 1
        start = first + (every > 1 and rng.random() < 0.5)
        return {"day": rng.choice(grid.working_days), "start_step": rng.randrange(grid.steps_per_day - duration + 1),
                "weeks": list(range(min(start, last), last + 1, every))}


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").replace(" ", "-")
