-- Which parts of its page each case's row was read from (issue 9: unknown is not "no").
-- Rows loaded before this column existed get it from the parse issues the parser of that time
-- wrote for the same page (case_id and cases.lang), and the current case_history version gets
-- the same value in its record and a new content hash, so reloading an unchanged page is no
-- change. Older versions keep their record; case_changes never compares a field a version did
-- not record.
ALTER TABLE cases ADD COLUMN sections_present VARCHAR[];

CREATE TEMP TABLE _parts AS
SELECT * FROM (VALUES
    (1, 'institutional_design'), (2, 'formalization'), (3, 'frequency'),
    (4, 'participant_selection'), (5, 'participant_types'), (6, 'decisiveness'),
    (7, 'co_governance'), (8, 'means'), (9, 'ends'), (10, 'policy_cycle')
) AS p(position, part);

-- The parser before version 2.0 wrote "section 'means' not found" for a missing list section,
-- "label of 'frequency' not found on the page" or "'frequency' label found but no value after
-- it" for a design field, and nothing of its own for Institutional design: the section was
-- missing when all six of its fields were.
CREATE TEMP TABLE _absent AS
WITH said AS (
    SELECT DISTINCT c.case_id, i.field
    FROM cases AS c
    JOIN parse_issues AS i ON i.case_id = c.case_id AND i.lang = c.lang
    WHERE i.raw IS NULL AND (
        i.message = 'section ''' || i.field || ''' not found'
        OR i.message = 'label of ''' || i.field || ''' not found on the page'
        OR i.message = '''' || i.field || ''' label found but no value after it')
)
SELECT case_id, field AS part FROM said
UNION ALL
SELECT case_id, 'institutional_design' FROM said
WHERE field IN (SELECT part FROM _parts WHERE position BETWEEN 2 AND 7)
GROUP BY case_id HAVING count(*) = 6;

UPDATE cases SET sections_present = coalesce(s.shown, []::VARCHAR[])
FROM (
    SELECT c.case_id,
           list(p.part ORDER BY p.position) FILTER (WHERE a.part IS NULL) AS shown
    FROM cases AS c
    CROSS JOIN _parts AS p
    LEFT JOIN _absent AS a ON a.case_id = c.case_id AND a.part = p.part
    GROUP BY c.case_id
) AS s
WHERE s.case_id = cases.case_id;

-- The hashed record gains the field last, as latinno.record.CaseRecord declares it.
CREATE TEMP TABLE _rehashed AS
SELECT h.case_id, h.version, r.text, sha256(r.text) AS content_hash
FROM case_history AS h
JOIN cases AS c ON c.case_id = h.case_id
CROSS JOIN LATERAL (
    SELECT left(h.record::VARCHAR, length(h.record::VARCHAR) - 1)
           || ',"sections_present":' || to_json(c.sections_present)::VARCHAR || '}' AS text
) AS r
WHERE h.valid_to IS NULL AND json_extract(h.record, '$.sections_present') IS NULL;

UPDATE case_history SET record = r.text::JSON, content_hash = r.content_hash
FROM _rehashed AS r
WHERE r.case_id = case_history.case_id AND r.version = case_history.version;

UPDATE cases SET content_hash = r.content_hash
FROM _rehashed AS r
WHERE r.case_id = cases.case_id;

DROP TABLE _rehashed;
DROP TABLE _absent;
DROP TABLE _parts;

COMMENT ON COLUMN cases.sections_present IS 'What the page showed, in page order: institutional_design (its heading or labels), each design field whose label had a value (formalization ... co_governance), and means, ends, policy_cycle (heading and options). A part not listed was not on the page: its columns are NULL, every cases_wide boolean of a missing list is NULL (unknown, not no), and parse_issues names it.';
COMMENT ON COLUMN case_history.record IS 'The normalized case content that is hashed: country_code, title, description, the six design fields, participant_types, means, ends, policy_cycle (codes in vocabulary order), sources and sections_present (versions stored before it existed lack it). Not url, lang, run, parser version or timestamps.';
