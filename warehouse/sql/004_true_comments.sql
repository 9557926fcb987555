-- Comments that say what the loader does (issue 9): a design value that matches no code is NULL
-- here, and its raw text is kept in parse_issues.
COMMENT ON COLUMN cases.formalization IS 'Institutional design: formalization code (vocabulary field formalization); NULL when the page showed none or a value that matched no code (its raw text is in parse_issues).';
COMMENT ON COLUMN cases.frequency IS 'Institutional design: frequency code (vocabulary field frequency); NULL when the page showed none or a value that matched no code (its raw text is in parse_issues).';
COMMENT ON COLUMN cases.participant_selection IS 'Institutional design: mode of selection of participants (vocabulary field participant_selection); NULL when the page showed none or a value that matched no code (its raw text is in parse_issues).';
COMMENT ON COLUMN cases.decisiveness IS 'Institutional design: decisiveness code (vocabulary field decisiveness); NULL when the page showed none or a value that matched no code (its raw text is in parse_issues).';
COMMENT ON COLUMN cases.co_governance IS 'Institutional design: co-governance (true = yes, false = no, NULL = not shown, or a value that matched neither: its raw text is in parse_issues).';
COMMENT ON COLUMN cases.lang IS 'Language whose page fills title, description and sources: the first configured language (source.languages) that has the case; case_texts holds every language.';
COMMENT ON TABLE pages IS 'Raw archive of fetched case pages: one row per distinct body of a (case_id, lang), so every parsed version can be reproduced; the latest is the row with the greatest fetched_at. A page we held that answered 404/410 gets a row with that status and an empty body.';
