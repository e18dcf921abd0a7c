"""The two files an institution brings: ``.HHYP`` (a base) and ``.profils`` (users), read and written.

``hhyp/`` the archive (zip, manifest, reader, writer); ``rows/`` its tables' rows; ``profils/`` the users
file; ``json/`` strict JSON and the schemas; ``errors/`` every refusal (a stable code, docs/errors.md);
``limits`` the size caps; ``speed`` the knobs of a tuned reader. Nothing is imported here, so importing
one part never loads the others.
"""
