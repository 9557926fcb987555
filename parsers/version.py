"""The parser's version, stored on every record.

Rule: any change that can alter the output of ``parse_case`` for the same bytes, URL, labels and
marker (a field's value, an issue's field/raw, ordering, decoding, text normalization)
MUST bump this version, so that stored records can be told apart and re-parsed. Pure refactors
and speed-ups with identical output keep it. Format: ``MAJOR.MINOR``; bump MAJOR when the record
contract itself changes.

Changelog:

- 3.1: NUL characters in a page (which HTML parsing turns into U+FFFD) are said in an issue on
  field ``encoding`` ("3 NUL characters (the first at character 1200), replaced"); 3.0 replaced
  them silently (issue 24).
- 3.0: the record contract gains ``option_counts`` (issue 19): for each Means/Ends/Policy-cycle
  list shown, how many options were found and how many read as applying. Output changes for
  the same bytes:
  - a list shown with none or all of its options applying gets an issue on the list's field
    (raw "0 of 4 apply" / "4 of 4 apply") naming the marker in use (2.0: no issue);
  - the marker is a declared rule (``parser.marker``: class, attribute, image, style or tag
    signal, on applying or on not-applying options) looked for in the option's whole scope:
    its element, its own ancestors up to the list and their descendants (2.0: the class on
    the named element or its ancestors only). With the default rule every fixture page and
    generated page reads the same codes as in 2.0.
- 2.0: the record contract gains ``sections_present``: which parts of the page it showed
  (``latinno.record.PAGE_PARTS``: Institutional design, each design field with a value, Means,
  Ends, Policy cycle), so the warehouse can tell "not on the page" (NULL) from "no" (issue 9).
  Output changes for the same bytes:
  - a page without Institutional design (neither its heading nor any of its labels) gets an
    issue on field ``institutional_design`` ("section 'institutional_design' not found on the
    page"), before the six issues of its fields;
  - a missing Means/Ends/Policy cycle section's issue now reads "section 'means' not found on
    the page" (1.2: "section 'means' not found");
  - a Means/Ends/Policy cycle heading followed by none of its options (every real page lists
    them all) is not shown: ``[]``, absent from ``sections_present``, and an issue "section
    'means' lists none of its options: not read" (1.2: ``[]`` and no issue, read as "none
    applies").
- 1.2: the tree is BeautifulSoup's (lxml builder, strained to ``<body>``/``<link>``/``<base>``)
  instead of the previous direct tree walk; the records of every fixture page and of 4,500
  generated pages are identical. Bumped for the intended changes of issue 13:
  - bytes invalid in every charset the page names: UTF-8 with U+FFFD when the page declares
    UTF-8 or is mostly UTF-8, plus an issue on field ``encoding`` ("invalid UTF-8 at byte N,
    replaced"); 1.1 decoded such pages as windows-1252, garbling every non-ASCII character;
  - an undeclared page that is not UTF-8 is still read as windows-1252, now with an
    ``encoding`` issue saying the codec was guessed;
  - a page nested deeper than 256 levels fails with "nested too deep" and its depth (1.1:
    "empty page", or a record of whatever came before the deep part).
  - a stray ``</html>`` inside ``<head>`` no longer hides the body (1.1: "empty page"); the
    bs4 builder receives every element after it, as browsers read such pages.
- 1.1: a case page needs two case sections (or one and the design labels); the country is a
  line-starting country name that is not an item of a menu of countries.
- 1.0: first release.
"""

PARSER_VERSION = "3.1"
