-- The revisit policy's memory (issue 23): when each page was last asked, whether it was there,
-- and after how many days it is asked again, so a run asks only the pages that are due.
CREATE TABLE page_checks (
    case_id INTEGER NOT NULL,
    lang VARCHAR NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    interval_days DOUBLE NOT NULL,
    present BOOLEAN NOT NULL,
    spread BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (case_id, lang)
);
COMMENT ON TABLE page_checks IS 'When each case page (case_id, lang) was last asked for, and when it is asked again: pages that are there, probed ids that were no page, missing languages of a case (see README, "How often pages are asked again").';
COMMENT ON COLUMN page_checks.case_id IS 'Case id asked for (prefix * 1000 + serial), a case or not.';
COMMENT ON COLUMN page_checks.lang IS 'Language of the page asked for.';
COMMENT ON COLUMN page_checks.checked_at IS 'UTC time of the run that last had an answer (200, 304, 404 or 410) for this page.';
COMMENT ON COLUMN page_checks.interval_days IS 'Days after checked_at when the page is due again (adapted: longer while unchanged, shorter after a change).';
COMMENT ON COLUMN page_checks.present IS 'True when the page was there at the last check (200 or 304), false when it answered 404 or 410.';
COMMENT ON COLUMN page_checks.spread IS 'True when interval_days is the page''s first interval, spread by its key so that revisits come in an even share every run; an unchanged page then goes to the longest interval.';
