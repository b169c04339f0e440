-- Independent SQL implementation of the "Mali 2019 re-review" reference workload
-- (shared/reference-workload.md), for the Debian sqlite3 shell (3.40+).
--
-- Expects, before it is read (bench/sql_reference.sh sets these up):
--   cases_raw, flows_raw, languages_raw : the three CSV files, imported with
--                                         `.import --csv` (all columns TEXT, '' = missing)
--   params(as_of TEXT)                  : one row, the review date (YYYY-MM-DD)
-- Writes to stdout, in input order, the decisions in the form of the conformance
-- fixture's expected/decisions.csv: `case_id,disposition,risk,priority,fired`.
--
-- Readings followed (those of the conformance fixture):
--   * counts in S2, S3, S4 and S8 include the case itself;
--   * S4/S5 need both entry_point and arrival_date; observed = SUM of matching flows
--     rows, 0 when there is none;
--   * S8 window = registered_on - 6 .. registered_on, both included;
--   * age = whole years, the birthday is reached on the same month-day;
--   * week_start(d) = the Monday on or before d.
-- Rows are not validated (the input is assumed to follow the schema).

PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -1000000;

------------------------------------------------------------------------------------------
-- Clean input: empty string -> NULL, rowid keeps the input order.
------------------------------------------------------------------------------------------
CREATE TABLE c (
  id INTEGER PRIMARY KEY,          -- input order (rowid of cases_raw)
  case_id TEXT, registered_on TEXT, reg_day INTEGER, centre TEXT, host_country TEXT,
  nationality TEXT, birth_date TEXT, sex TEXT, entry_point TEXT, arrival_date TEXT,
  travel_doc TEXT, id_doc_number TEXT, consular_confirmed TEXT, consent_signed TEXT,
  languages TEXT, phone TEXT, intermediary TEXT, registered_by TEXT, prior_avrr_on TEXT,
  household_id TEXT, household_size INTEGER, vulnerabilities TEXT, bid_done TEXT,
  fit_to_travel TEXT, status TEXT, week TEXT
);

INSERT INTO c
SELECT rowid,
       NULLIF(case_id, ''), NULLIF(registered_on, ''),
       CAST(julianday(NULLIF(registered_on, '')) AS INTEGER),
       NULLIF(centre, ''), NULLIF(host_country, ''), NULLIF(nationality, ''),
       NULLIF(birth_date, ''), NULLIF(sex, ''), NULLIF(entry_point, ''),
       NULLIF(arrival_date, ''), NULLIF(travel_doc, ''), NULLIF(id_doc_number, ''),
       NULLIF(consular_confirmed, ''), NULLIF(consent_signed, ''), NULLIF(languages, ''),
       NULLIF(phone, ''), NULLIF(intermediary, ''), NULLIF(registered_by, ''),
       NULLIF(prior_avrr_on, ''), NULLIF(household_id, ''),
       CAST(NULLIF(household_size, '') AS INTEGER), NULLIF(vulnerabilities, ''),
       NULLIF(bid_done, ''), NULLIF(fit_to_travel, ''), NULLIF(status, ''),
       -- week_start(arrival_date): step back 6 days, then forward to the next Monday
       -- (SQLite's 'weekday 1' stays put on a Monday) = the Monday on or before.
       date(NULLIF(arrival_date, ''), '-6 days', 'weekday 1')
FROM cases_raw
ORDER BY rowid;

CREATE TABLE flows (entry_point TEXT, week TEXT, observed INTEGER);
INSERT INTO flows
SELECT NULLIF(entry_point, ''), NULLIF(week, ''), CAST(NULLIF(observed, '') AS INTEGER)
FROM flows_raw;

CREATE TABLE lang (nationality TEXT, language TEXT);
INSERT INTO lang
SELECT DISTINCT NULLIF(trim(nationality), ''), NULLIF(trim(language), '')
FROM languages_raw
WHERE NULLIF(trim(nationality), '') IS NOT NULL AND NULLIF(trim(language), '') IS NOT NULL;
CREATE INDEX lang_nat_lang ON lang (nationality, language);

------------------------------------------------------------------------------------------
-- Aggregates over all cases (one grouped pass each, keyed for the joins below).
------------------------------------------------------------------------------------------
-- S1: distinct households per phone.
CREATE TABLE agg_phone (phone TEXT PRIMARY KEY, households INTEGER) WITHOUT ROWID;
INSERT INTO agg_phone
SELECT phone, COUNT(DISTINCT household_id) FROM c WHERE phone IS NOT NULL GROUP BY phone;

-- S2: cases per id document number.
CREATE TABLE agg_doc (id_doc_number TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;
INSERT INTO agg_doc
SELECT id_doc_number, COUNT(*) FROM c WHERE id_doc_number IS NOT NULL GROUP BY id_doc_number;

-- S3: cases per (registered_by, registered_on).
CREATE TABLE agg_reg (registered_by TEXT, registered_on TEXT, n INTEGER,
                      PRIMARY KEY (registered_by, registered_on)) WITHOUT ROWID;
INSERT INTO agg_reg
SELECT registered_by, registered_on, COUNT(*) FROM c
WHERE registered_by IS NOT NULL AND registered_on IS NOT NULL
GROUP BY registered_by, registered_on;

-- S4/S5: claims per (entry_point, week_start(arrival_date)) and observed flows.
CREATE TABLE agg_claims (entry_point TEXT, week TEXT, claims INTEGER, observed INTEGER,
                         PRIMARY KEY (entry_point, week)) WITHOUT ROWID;
INSERT INTO agg_claims
SELECT entry_point, week, COUNT(*), 0 FROM c
WHERE entry_point IS NOT NULL AND week IS NOT NULL
GROUP BY entry_point, week;
UPDATE agg_claims
SET observed = COALESCE((SELECT SUM(f.observed) FROM flows f
                         WHERE f.entry_point = agg_claims.entry_point
                           AND f.week = agg_claims.week), 0);

-- S7: the case's languages, split on ';', and whether one is spoken by its nationality.
CREATE TABLE case_lang (id INTEGER, language TEXT);
WITH RECURSIVE split(id, rest, tok) AS (
  SELECT id, languages || ';', NULL FROM c WHERE languages IS NOT NULL
  UNION ALL
  SELECT id, substr(rest, instr(rest, ';') + 1), trim(substr(rest, 1, instr(rest, ';') - 1))
  FROM split WHERE rest <> ''
)
INSERT INTO case_lang SELECT id, tok FROM split WHERE tok IS NOT NULL AND tok <> '';

CREATE TABLE lang_hit (id INTEGER PRIMARY KEY);
INSERT INTO lang_hit
SELECT DISTINCT cl.id
FROM case_lang cl
JOIN c ON c.id = cl.id
JOIN lang l ON l.nationality = c.nationality AND l.language = cl.language;

CREATE TABLE lang_nat (nationality TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO lang_nat SELECT DISTINCT nationality FROM lang;

-- S8: cases of the same intermediary registered in the 7 days ending on this case's
-- registered_on (RANGE frame on the day number; CURRENT ROW includes same-day peers).
CREATE TABLE agg_inter (id INTEGER PRIMARY KEY, n INTEGER);
INSERT INTO agg_inter
SELECT id, COUNT(*) OVER (PARTITION BY intermediary ORDER BY reg_day
                          RANGE BETWEEN 6 PRECEDING AND CURRENT ROW)
FROM c WHERE intermediary IS NOT NULL AND reg_day IS NOT NULL;

------------------------------------------------------------------------------------------
-- Per-case criteria, signals and priority.
------------------------------------------------------------------------------------------
CREATE TABLE ev AS
SELECT
  c.id, c.case_id,
  -- criteria: 'P' pass, 'F' fail, 'U' unknown
  CASE WHEN c.consent_signed = 'true' THEN 'P' ELSE 'F' END AS e1,
  CASE WHEN c.nationality IN ('MLI','GIN','CIV','SEN','GMB','SLE','LBR','BFA','NER','NGA',
                              'BEN','GNB','MRT','CMR','GHA','TGO')
            AND c.nationality <> c.host_country THEN 'P' ELSE 'F' END AS e2,
  CASE WHEN c.prior_avrr_on IS NULL
            OR julianday(p.as_of) - julianday(c.prior_avrr_on) > 730 THEN 'P'
       ELSE 'F' END AS e3,
  CASE WHEN c.consular_confirmed = 'true'
            OR c.travel_doc IN ('passport', 'id_card', 'laissez_passer') THEN 'P'
       WHEN c.travel_doc = 'none' THEN 'F'
       ELSE 'U' END AS e4,
  CASE WHEN instr(';' || COALESCE(c.vulnerabilities, '') || ';', ';uasc;') = 0
            OR c.bid_done = 'true' THEN 'P' ELSE 'F' END AS e5,
  CASE WHEN c.fit_to_travel = 'true' THEN 'P'
       WHEN c.fit_to_travel = 'false' THEN 'F'
       ELSE 'U' END AS e6,
  -- signals: 1 fires, 0 does not
  COALESCE(ap.households >= 3, 0) AS s1,
  COALESCE(ad.n >= 2, 0) AS s2,
  COALESCE(ar.n > 40, 0) AS s3,
  COALESCE(ac.claims > 3 * ac.observed + 10, 0) AS s4,
  COALESCE(ac.observed = 0, 0) AS s5,
  COALESCE(c.arrival_date > c.registered_on, 0) AS s6,
  (c.languages IS NOT NULL AND ln.nationality IS NOT NULL AND lh.id IS NULL) AS s7,
  COALESCE(ai.n > 10, 0) AS s8,
  COALESCE(julianday(p.as_of) - julianday(c.prior_avrr_on) <= 1825, 0) AS s9,
  -- vulnerability priority
  (CASE WHEN instr(';' || COALESCE(c.vulnerabilities, '') || ';', ';uasc;') > 0
        THEN 30 ELSE 0 END)
  + (CASE WHEN instr(';' || COALESCE(c.vulnerabilities, '') || ';', ';vot;') > 0
          THEN 30 ELSE 0 END)
  + (CASE WHEN instr(';' || COALESCE(c.vulnerabilities, '') || ';', ';medical;') > 0
          THEN 20 ELSE 0 END)
  + (CASE WHEN instr(';' || COALESCE(c.vulnerabilities, '') || ';', ';pregnant;') > 0
          THEN 20 ELSE 0 END)
  + (CASE WHEN instr(';' || COALESCE(c.vulnerabilities, '') || ';', ';disability;') > 0
          THEN 15 ELSE 0 END)
  + (CASE WHEN c.birth_date IS NOT NULL
               AND (CAST(strftime('%Y', p.as_of) AS INTEGER)
                    - CAST(strftime('%Y', c.birth_date) AS INTEGER)
                    - (strftime('%m-%d', p.as_of) < strftime('%m-%d', c.birth_date))) >= 60
          THEN 10 ELSE 0 END)
  + (CASE WHEN c.sex = 'F' AND c.household_size = 1 THEN 10 ELSE 0 END) AS priority
FROM c
CROSS JOIN (SELECT as_of FROM params LIMIT 1) p
LEFT JOIN agg_phone ap ON ap.phone = c.phone
LEFT JOIN agg_doc ad ON ad.id_doc_number = c.id_doc_number
LEFT JOIN agg_reg ar ON ar.registered_by = c.registered_by
                    AND ar.registered_on = c.registered_on
LEFT JOIN agg_claims ac ON ac.entry_point = c.entry_point AND ac.week = c.week
LEFT JOIN lang_nat ln ON ln.nationality = c.nationality
LEFT JOIN lang_hit lh ON lh.id = c.id
LEFT JOIN agg_inter ai ON ai.id = c.id;

CREATE TABLE scored AS
SELECT ev.*,
       25 * s1 + 40 * s2 + 15 * s3 + 20 * s4 + 15 * s5 + 10 * s6 + 20 * s7 + 20 * s8
         + 10 * s9 AS risk,
       CASE WHEN 'F' IN (e1, e2, e3, e4, e5, e6) THEN 'INELIGIBLE'
            WHEN 'U' IN (e1, e2, e3, e4, e5, e6) THEN 'UNKNOWN'
            ELSE 'ELIGIBLE' END AS eligibility
FROM ev;

------------------------------------------------------------------------------------------
-- Output (list mode, fields built here so that quoting and line endings are exact).
------------------------------------------------------------------------------------------
.headers off
.mode list
.separator "," "\n"
.nullvalue ""

SELECT 'case_id,disposition,risk,priority,fired';
SELECT
  CASE WHEN case_id GLOB '*[",' || char(10) || char(13) || ']*'
       THEN '"' || replace(case_id, '"', '""') || '"' ELSE case_id END,
  CASE WHEN eligibility = 'INELIGIBLE' AND priority >= 30 THEN 'REFER_PROTECTION'
       WHEN eligibility = 'INELIGIBLE' THEN 'INELIGIBLE'
       WHEN risk >= 50 THEN 'HOLD_REVIEW'
       WHEN eligibility = 'UNKNOWN' THEN 'REQUEST_INFO'
       WHEN risk >= 25 THEN 'VERIFY'
       ELSE 'APPROVE' END,
  risk,
  priority,
  -- ids in byte order: E1..E6 then S1..S9 (single digits), joined with ';'
  substr(
      (CASE WHEN e1 <> 'P' THEN ';E1' ELSE '' END)
    || (CASE WHEN e2 <> 'P' THEN ';E2' ELSE '' END)
    || (CASE WHEN e3 <> 'P' THEN ';E3' ELSE '' END)
    || (CASE WHEN e4 <> 'P' THEN ';E4' ELSE '' END)
    || (CASE WHEN e5 <> 'P' THEN ';E5' ELSE '' END)
    || (CASE WHEN e6 <> 'P' THEN ';E6' ELSE '' END)
    || (CASE WHEN s1 THEN ';S1' ELSE '' END)
    || (CASE WHEN s2 THEN ';S2' ELSE '' END)
    || (CASE WHEN s3 THEN ';S3' ELSE '' END)
    || (CASE WHEN s4 THEN ';S4' ELSE '' END)
    || (CASE WHEN s5 THEN ';S5' ELSE '' END)
    || (CASE WHEN s6 THEN ';S6' ELSE '' END)
    || (CASE WHEN s7 THEN ';S7' ELSE '' END)
    || (CASE WHEN s8 THEN ';S8' ELSE '' END)
    || (CASE WHEN s9 THEN ';S9' ELSE '' END), 2)
FROM scored
ORDER BY id;
