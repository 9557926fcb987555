"""The LATINNO pipeline's one namespace.

Its own modules are the base layer every other package stands on, such as settings (config),
errors, the record contract (record, columns), the vocabulary, page URLs (pages) and process
cleanup (reaper); they import nothing of parsers, flows or warehouse. Its subpackages are the
layers on top: ``latinno.report`` and ``latinno.release`` (read the warehouse),
``latinno.sitemodel`` (our model of the LATINNO site, which tests, benchmarks and the demo fetch
from) and ``latinno.cli``, the command line over all of them. tests/test_layout.py holds every
package to its layer.
"""
