"""Strict JSON (depth, NUL, surrogates), the bundled JSON Schemas, their msgspec types and their faults in words."""
