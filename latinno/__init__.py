"""LATINNO pipeline: shared vocabulary, records, configuration, errors and the CLI."""
