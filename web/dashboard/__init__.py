"""The operators' dashboard (issue 20): its routes hang on this router."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
