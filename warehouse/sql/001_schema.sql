-- Schema version 1 of the LATINNO warehouse. Applied once by warehouse.db (schema_version).
-- All timestamps are UTC, stored as TIMESTAMP without time zone so exports never depend on the
-- reader's session time zone. Codes follow docs/vocabulary.md (latinno/vocabulary.py).
-- Bridge tables, case_sources and case_history have natural keys but no PRIMARY KEY: DuckDB
-- index maintenance made bulk loads ~30% slower, and warehouse.load keeps them unique
-- (each key is named in the table comment and checked by the tests).

CREATE TABLE cases (
    case_id INTEGER PRIMARY KEY,
    country_code VARCHAR,
    title VARCHAR,
    description VARCHAR,
    formalization VARCHAR,
    frequency VARCHAR,
    participant_selection VARCHAR,
    decisiveness VARCHAR,
    co_governance BOOLEAN,
    url VARCHAR NOT NULL,
    lang VARCHAR NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('active', 'withdrawn')),
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    last_changed_at TIMESTAMP NOT NULL,
    parser_version VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    quick_hash UBIGINT NOT NULL
);
COMMENT ON TABLE cases IS 'One row per LATINNO case (democratic innovation). Text columns come from the first configured language (see lang). Never deleted: a case gone from the site gets status withdrawn.';
COMMENT ON COLUMN cases.case_id IS 'LATINNO case id: country id prefix * 1000 + serial (the number in /{lang}/case/{id}/).';
COMMENT ON COLUMN cases.country_code IS 'ISO 3166-1 alpha-2 code of the country shown on the page (see table countries).';
COMMENT ON COLUMN cases.title IS 'Name of the case, in language lang.';
COMMENT ON COLUMN cases.description IS 'Description paragraph(s) of the case, in language lang.';
COMMENT ON COLUMN cases.formalization IS 'Institutional design: formalization code (vocabulary field formalization); raw text when the page value matched no code (see parse_issues).';
COMMENT ON COLUMN cases.frequency IS 'Institutional design: frequency code (vocabulary field frequency).';
COMMENT ON COLUMN cases.participant_selection IS 'Institutional design: mode of selection of participants (vocabulary field participant_selection).';
COMMENT ON COLUMN cases.decisiveness IS 'Institutional design: decisiveness code (vocabulary field decisiveness).';
COMMENT ON COLUMN cases.co_governance IS 'Institutional design: co-governance (true = yes, false = no, NULL = not shown).';
COMMENT ON COLUMN cases.url IS 'URL of the page the row was built from.';
COMMENT ON COLUMN cases.lang IS 'Language (en, es, pt) of the page the row was built from: the first configured language when fetched, else another one.';
COMMENT ON COLUMN cases.status IS 'active: seen on the site in the latest refresh that looked for it; withdrawn: no longer on the site.';
COMMENT ON COLUMN cases.first_seen_at IS 'UTC time the case was first loaded.';
COMMENT ON COLUMN cases.last_seen_at IS 'UTC time the case page was last seen on the site (fetched or answered not modified).';
COMMENT ON COLUMN cases.last_changed_at IS 'UTC time the case content or status last changed (start of its current case_history version).';
COMMENT ON COLUMN cases.parser_version IS 'Version of the parser that produced the row.';
COMMENT ON COLUMN cases.content_hash IS 'SHA-256 of the normalized case content (see case_history.record); equal hash = no change.';
COMMENT ON COLUMN cases.quick_hash IS 'Loader bookkeeping: DuckDB hash() of the raw content fields, a shortcut that skips the SHA-256 when equal; not stable across DuckDB versions.';

CREATE TABLE case_participant_types (
    case_id INTEGER NOT NULL,
    participant_type VARCHAR NOT NULL
);
COMMENT ON TABLE case_participant_types IS 'Institutional design, type of participants: one row per code that applies to a case. Unique key: (case_id, participant_type).';
COMMENT ON COLUMN case_participant_types.case_id IS 'Case id (cases.case_id).';
COMMENT ON COLUMN case_participant_types.participant_type IS 'Participant type code (vocabulary field participant_types).';

CREATE TABLE case_means (
    case_id INTEGER NOT NULL,
    means VARCHAR NOT NULL
);
COMMENT ON TABLE case_means IS 'Means of the case: one row per means that applies. Unique key: (case_id, means).';
COMMENT ON COLUMN case_means.case_id IS 'Case id (cases.case_id).';
COMMENT ON COLUMN case_means.means IS 'Means code (vocabulary field means).';

CREATE TABLE case_ends (
    case_id INTEGER NOT NULL,
    ends VARCHAR NOT NULL
);
COMMENT ON TABLE case_ends IS 'Ends of the case: one row per end that applies. Unique key: (case_id, ends).';
COMMENT ON COLUMN case_ends.case_id IS 'Case id (cases.case_id).';
COMMENT ON COLUMN case_ends.ends IS 'Ends code (vocabulary field ends).';

CREATE TABLE case_policy_cycle (
    case_id INTEGER NOT NULL,
    stage VARCHAR NOT NULL
);
COMMENT ON TABLE case_policy_cycle IS 'Policy cycle stages of the case: one row per stage that applies. Unique key: (case_id, stage).';
COMMENT ON COLUMN case_policy_cycle.case_id IS 'Case id (cases.case_id).';
COMMENT ON COLUMN case_policy_cycle.stage IS 'Policy cycle stage code (vocabulary field policy_cycle).';

CREATE TABLE case_texts (
    case_id INTEGER NOT NULL,
    lang VARCHAR NOT NULL,
    title VARCHAR,
    description VARCHAR,
    url VARCHAR NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    last_changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, lang)
);
COMMENT ON TABLE case_texts IS 'Title and description of a case in every fetched language.';
COMMENT ON COLUMN case_texts.case_id IS 'Case id (cases.case_id).';
COMMENT ON COLUMN case_texts.lang IS 'Language of the page: en, es or pt.';
COMMENT ON COLUMN case_texts.title IS 'Name of the case in this language.';
COMMENT ON COLUMN case_texts.description IS 'Description of the case in this language.';
COMMENT ON COLUMN case_texts.url IS 'URL of the page in this language.';
COMMENT ON COLUMN case_texts.first_seen_at IS 'UTC time this language version was first loaded.';
COMMENT ON COLUMN case_texts.last_seen_at IS 'UTC time this language version was last seen on the site.';
COMMENT ON COLUMN case_texts.last_changed_at IS 'UTC time title or description in this language last changed.';

CREATE TABLE case_sources (
    case_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    text VARCHAR,
    url VARCHAR
);
COMMENT ON TABLE case_sources IS 'Sources listed on the case page (same language as cases), in page order. Unique key: (case_id, position).';
COMMENT ON COLUMN case_sources.case_id IS 'Case id (cases.case_id).';
COMMENT ON COLUMN case_sources.position IS 'Position of the source on the page, from 1.';
COMMENT ON COLUMN case_sources.text IS 'Link text of the source.';
COMMENT ON COLUMN case_sources.url IS 'Link target of the source.';

CREATE TABLE case_history (
    case_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    valid_to TIMESTAMP,
    status VARCHAR NOT NULL,
    change VARCHAR NOT NULL CHECK (change IN ('new', 'changed', 'withdrawn', 'reactivated')),
    content_hash VARCHAR NOT NULL,
    record JSON NOT NULL,
    run_id VARCHAR
);
COMMENT ON TABLE case_history IS 'Versions of each case: a new version whenever its normalized content (content_hash) or its status changes. The current version has valid_to NULL. Unique key: (case_id, version).';
COMMENT ON COLUMN case_history.case_id IS 'Case id (cases.case_id).';
COMMENT ON COLUMN case_history.version IS 'Version number of the case, from 1, consecutive.';
COMMENT ON COLUMN case_history.valid_from IS 'UTC time this version was first seen.';
COMMENT ON COLUMN case_history.valid_to IS 'UTC time the next version replaced it; NULL for the current version.';
COMMENT ON COLUMN case_history.status IS 'Status of the case in this version: active or withdrawn.';
COMMENT ON COLUMN case_history.change IS 'Why this version exists: new, changed (content), withdrawn, reactivated (withdrawn case seen again).';
COMMENT ON COLUMN case_history.content_hash IS 'SHA-256 (hex) of record as canonical JSON.';
COMMENT ON COLUMN case_history.record IS 'The normalized case content that is hashed: country_code, title, description, the six design fields, participant_types, means, ends, policy_cycle (codes in vocabulary order) and sources. Not url, lang, run, parser version or timestamps.';
COMMENT ON COLUMN case_history.run_id IS 'Refresh run that created this version (runs.run_id), if known.';

CREATE TABLE pages (
    case_id INTEGER NOT NULL,
    lang VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    status INTEGER NOT NULL,
    headers JSON NOT NULL,
    body_zstd BLOB NOT NULL,
    body_size BIGINT NOT NULL,
    first_fetched_at TIMESTAMP NOT NULL,
    fetched_at TIMESTAMP NOT NULL,
    etag VARCHAR,
    last_modified VARCHAR,
    PRIMARY KEY (case_id, lang, sha256)
);
COMMENT ON TABLE pages IS 'Raw archive of fetched case pages: one row per distinct body of a (case_id, lang), so every parsed version can be reproduced; the latest is the row with the greatest fetched_at.';
COMMENT ON COLUMN pages.case_id IS 'Case id of the page.';
COMMENT ON COLUMN pages.lang IS 'Language of the page: en, es or pt.';
COMMENT ON COLUMN pages.sha256 IS 'SHA-256 (hex) of the uncompressed body.';
COMMENT ON COLUMN pages.url IS 'URL the body was fetched from (after redirects).';
COMMENT ON COLUMN pages.status IS 'HTTP status of the response.';
COMMENT ON COLUMN pages.headers IS 'Response headers as a JSON object (lower-case names).';
COMMENT ON COLUMN pages.body_zstd IS 'Response body compressed with Zstandard (a plain zstd frame; decompress with any zstd tool).';
COMMENT ON COLUMN pages.body_size IS 'Length of the uncompressed body in bytes.';
COMMENT ON COLUMN pages.first_fetched_at IS 'UTC time this body was first fetched.';
COMMENT ON COLUMN pages.fetched_at IS 'UTC time this body was last fetched.';
COMMENT ON COLUMN pages.etag IS 'ETag response header of the latest fetch, for conditional requests.';
COMMENT ON COLUMN pages.last_modified IS 'Last-Modified response header of the latest fetch, for conditional requests.';

CREATE TABLE runs (
    run_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    params JSON NOT NULL,
    discovered BIGINT,
    fetched BIGINT,
    not_modified BIGINT,
    parsed BIGINT,
    new BIGINT,
    changed BIGINT,
    unchanged BIGINT,
    withdrawn BIGINT,
    failed BIGINT,
    parse_issues BIGINT,
    duration_s DOUBLE,
    fetch_s DOUBLE,
    parse_s DOUBLE,
    load_s DOUBLE,
    extra JSON
);
COMMENT ON TABLE runs IS 'One row per refresh run: parameters, counts and durations.';
COMMENT ON COLUMN runs.run_id IS 'Identifier of the run.';
COMMENT ON COLUMN runs.started_at IS 'UTC time the run started.';
COMMENT ON COLUMN runs.finished_at IS 'UTC time the run finished; NULL while running or if it crashed.';
COMMENT ON COLUMN runs.params IS 'Parameters of the run (base URL, languages, prefixes, ...) as JSON.';
COMMENT ON COLUMN runs.discovered IS 'Case pages discovered.';
COMMENT ON COLUMN runs.fetched IS 'Pages fetched with a body.';
COMMENT ON COLUMN runs.not_modified IS 'Pages answered 304 Not Modified or with an unchanged body.';
COMMENT ON COLUMN runs.parsed IS 'Pages parsed into records.';
COMMENT ON COLUMN runs.new IS 'Cases loaded for the first time.';
COMMENT ON COLUMN runs.changed IS 'Cases whose content changed.';
COMMENT ON COLUMN runs.unchanged IS 'Cases loaded again without change.';
COMMENT ON COLUMN runs.withdrawn IS 'Cases marked withdrawn.';
COMMENT ON COLUMN runs.failed IS 'Pages that could not be fetched or parsed.';
COMMENT ON COLUMN runs.parse_issues IS 'Parse issues recorded.';
COMMENT ON COLUMN runs.duration_s IS 'Wall time of the whole run, seconds.';
COMMENT ON COLUMN runs.fetch_s IS 'Time spent fetching, seconds.';
COMMENT ON COLUMN runs.parse_s IS 'Time spent parsing, seconds.';
COMMENT ON COLUMN runs.load_s IS 'Time spent loading into the warehouse, seconds.';
COMMENT ON COLUMN runs.extra IS 'Other counts and figures of the run as a JSON object.';

CREATE TABLE parse_issues (
    run_id VARCHAR,
    case_id INTEGER NOT NULL,
    lang VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    raw VARCHAR,
    message VARCHAR NOT NULL
);
COMMENT ON TABLE parse_issues IS 'Current parse issues of each case page: values kept but not coded, or expected but missing. Loading a page replaces its issues; an issue seen again keeps the run that first reported it.';
COMMENT ON COLUMN parse_issues.run_id IS 'Run that first reported the issue (runs.run_id).';
COMMENT ON COLUMN parse_issues.case_id IS 'Case id of the page.';
COMMENT ON COLUMN parse_issues.lang IS 'Language of the page.';
COMMENT ON COLUMN parse_issues.url IS 'URL of the page.';
COMMENT ON COLUMN parse_issues.field IS 'Field (or section) concerned.';
COMMENT ON COLUMN parse_issues.raw IS 'Raw value found on the page, if any.';
COMMENT ON COLUMN parse_issues.message IS 'What is wrong.';

CREATE TABLE fetch_failures (
    run_id VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    case_id INTEGER,
    lang VARCHAR,
    status INTEGER,
    reason VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    resolved_run_id VARCHAR,
    PRIMARY KEY (run_id, url)
);
COMMENT ON TABLE fetch_failures IS 'Pages that could not be fetched after all retries, per run. A failure is open until a later run fetches the page (resolved_run_id).';
COMMENT ON COLUMN fetch_failures.run_id IS 'Run in which the fetch failed.';
COMMENT ON COLUMN fetch_failures.url IS 'URL that failed.';
COMMENT ON COLUMN fetch_failures.case_id IS 'Case id, when the URL is a case page.';
COMMENT ON COLUMN fetch_failures.lang IS 'Language, when the URL is a case page.';
COMMENT ON COLUMN fetch_failures.status IS 'Last HTTP status, NULL for network errors.';
COMMENT ON COLUMN fetch_failures.reason IS 'Why the fetch failed.';
COMMENT ON COLUMN fetch_failures.attempts IS 'Number of attempts made.';
COMMENT ON COLUMN fetch_failures.resolved_run_id IS 'Run that later fetched the page successfully; NULL while the failure is open.';

CREATE TABLE vocabulary (
    field VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    label_en VARCHAR,
    label_es VARCHAR,
    label_pt VARCHAR,
    PRIMARY KEY (field, code)
);
COMMENT ON TABLE vocabulary IS 'Codes of every coded field with their labels as seen on the site (written from latinno/vocabulary.py on open).';
COMMENT ON COLUMN vocabulary.field IS 'Field or list the code belongs to (formalization, means, ...).';
COMMENT ON COLUMN vocabulary.code IS 'Stable code stored in the case tables.';
COMMENT ON COLUMN vocabulary.position IS 'Order of the value on the page, from 1.';
COMMENT ON COLUMN vocabulary.label_en IS 'English label on the site.';
COMMENT ON COLUMN vocabulary.label_es IS 'Spanish label seen on the site; NULL if never seen.';
COMMENT ON COLUMN vocabulary.label_pt IS 'Portuguese label seen on the site; NULL if never seen.';

CREATE TABLE countries (
    country_code VARCHAR PRIMARY KEY,
    id_prefix INTEGER NOT NULL UNIQUE,
    name_en VARCHAR NOT NULL,
    slug VARCHAR NOT NULL
);
COMMENT ON TABLE countries IS 'The 18 LATINNO countries (written from latinno/vocabulary.py on open).';
COMMENT ON COLUMN countries.country_code IS 'ISO 3166-1 alpha-2 code.';
COMMENT ON COLUMN countries.id_prefix IS 'Case id prefix: case_id // 1000.';
COMMENT ON COLUMN countries.name_en IS 'English name.';
COMMENT ON COLUMN countries.slug IS 'Slug of the country page: /{lang}/country/{slug}/.';
