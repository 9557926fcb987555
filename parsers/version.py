"""The parser's version, stored on every record.

Rule: any change that can alter the output of ``parse_case`` for the same bytes, URL, labels and
active classes (a field's value, an issue's field/raw, ordering, decoding, text normalization)
MUST bump this version, so that stored records can be told apart and re-parsed. Pure refactors
and speed-ups with identical output keep it. Format: ``MAJOR.MINOR``; bump MAJOR when the record
contract itself changes.
"""

PARSER_VERSION = "1.1"
