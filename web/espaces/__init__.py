"""The published Espaces (issue 21): its routes hang on this router."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
