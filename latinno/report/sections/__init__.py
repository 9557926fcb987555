"""The report's sections, one module each; each ``section`` returns its HTML, figures in order,
each followed by its numbers as a table, or a notice saying what is missing and why."""
