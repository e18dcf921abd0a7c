"""The rows of a .HHYP table: JSONL lines, their narrowed msgspec types, the native scanner, the base checks."""
