"""The .HHYP archive: ZIP reading (archive, inflate, names), the manifest, the reader and the writer."""
