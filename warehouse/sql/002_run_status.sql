-- How a run ended, so a failed, held or interrupted run is never mistaken for a finished one.
ALTER TABLE runs ADD COLUMN status VARCHAR;
UPDATE runs SET status = CASE WHEN finished_at IS NULL THEN 'interrupted' ELSE 'completed' END;
COMMENT ON COLUMN runs.status IS 'How the run ended: running, completed (every page fetched, not modified or gone), failed (some pages failed, or the site could not be reached: see reason), held (the site-drift guard kept the run from being applied), or interrupted (the process died; marked by the next run).';
ALTER TABLE runs ADD COLUMN reason VARCHAR;
COMMENT ON COLUMN runs.reason IS 'Why a run failed, was held or was interrupted, in one line; NULL for a completed run.';
