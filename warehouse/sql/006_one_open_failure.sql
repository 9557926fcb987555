-- One open failure per URL (issue 24, item 17): a page that keeps failing was a new open row in
-- every run. Now a run in which it fails again updates its open row (last run, reason, how many
-- runs it failed in, first and last seen); a run that fetches it closes the row as before. The
-- key becomes (first_run_id, url), which never changes while the row is updated. Rows of one URL
-- that were open together, or closed by the same run, collapse into one, the latest run's values.
CREATE TABLE fetch_failures_one (
    run_id VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    case_id INTEGER,
    lang VARCHAR,
    status INTEGER,
    reason VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    resolved_run_id VARCHAR,
    first_run_id VARCHAR NOT NULL,
    runs_failed INTEGER NOT NULL,
    first_seen_at TIMESTAMP,
    last_seen_at TIMESTAMP,
    PRIMARY KEY (first_run_id, url)
);
INSERT INTO fetch_failures_one
SELECT
    run_id, url, case_id, lang, status, reason, attempts, resolved_run_id,
    first_value(run_id) OVER (spell ORDER BY started_at ASC NULLS FIRST, run_id),
    count(*) OVER spell,
    min(started_at) OVER spell,
    max(started_at) OVER spell
FROM (SELECT f.*, r.started_at FROM fetch_failures AS f LEFT JOIN runs AS r USING (run_id))
WINDOW spell AS (PARTITION BY url, resolved_run_id)
QUALIFY row_number() OVER (spell ORDER BY started_at DESC NULLS LAST, run_id DESC) = 1;
DROP TABLE fetch_failures;
ALTER TABLE fetch_failures_one RENAME TO fetch_failures;
COMMENT ON TABLE fetch_failures IS 'Pages that could not be fetched (or parsed) after all retries: one row per URL and spell of failing. While open (resolved_run_id NULL) a run in which the page fails again updates the row (run_id, reason, runs_failed, last_seen_at); the first later run that fetches the page closes it.';
COMMENT ON COLUMN fetch_failures.run_id IS 'Last run in which the fetch failed.';
COMMENT ON COLUMN fetch_failures.url IS 'URL that failed.';
COMMENT ON COLUMN fetch_failures.case_id IS 'Case id, when the URL is a case page.';
COMMENT ON COLUMN fetch_failures.lang IS 'Language, when the URL is a case page.';
COMMENT ON COLUMN fetch_failures.status IS 'Last HTTP status of the last failing run, NULL for network errors.';
COMMENT ON COLUMN fetch_failures.reason IS 'Why the fetch failed in the last failing run.';
COMMENT ON COLUMN fetch_failures.attempts IS 'Number of attempts made in the last failing run.';
COMMENT ON COLUMN fetch_failures.resolved_run_id IS 'Run that later fetched the page successfully; NULL while the failure is open.';
COMMENT ON COLUMN fetch_failures.first_run_id IS 'First run in which the fetch failed (with url, the key).';
COMMENT ON COLUMN fetch_failures.runs_failed IS 'Number of runs in which the fetch failed, from first_run_id to run_id.';
COMMENT ON COLUMN fetch_failures.first_seen_at IS 'UTC start time of the first run in which the fetch failed (runs.started_at of first_run_id).';
COMMENT ON COLUMN fetch_failures.last_seen_at IS 'UTC start time of the last run in which the fetch failed (runs.started_at of run_id).';
