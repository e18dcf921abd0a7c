"""The two files an institution brings: ``.HHYP`` (a base) and ``.profils`` (users), read and written.

Entry points: :class:`hosting.formats.hhyp.HhypReader` and
:func:`hosting.formats.hhyp.iter_table_rows`, :func:`hosting.formats.profils.read_profils`,
:class:`hosting.formats.hhyp_writer.HhypWriter`, :func:`hosting.formats.profils.write_profils`,
:func:`hosting.formats.sample.generate_sample`. Every refusal is a
:class:`hosting.formats.errors.FormatError` with a stable code (see docs/errors.md).
Nothing is imported here, so importing one part never loads the others.
"""
