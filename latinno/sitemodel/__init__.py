"""Model of the LATINNO site: fixture case specs, page rendering, full-size site generation."""
