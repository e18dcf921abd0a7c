"""Commit markers: objects written last by a stage, so their presence means the stage's output is whole."""

UNPACKED = "_unpacked.json"
PUBLISHED = "espaces/_published.json"
DONE = "_done.json"  # an export, a backup (verified), a decrypted backup: whole
