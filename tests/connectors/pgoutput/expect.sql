-- Expected JSON row images for table `types` (and arr2), computed by
-- PostgreSQL itself from the table contents, one object per line, ordered by
-- id. Conversions mirror the connector's documented mapping: numeric as a
-- string with exact digits, bytea as base64, timestamptz with "Z", json/jsonb
-- embedded, arrays as JSON arrays, enums as strings, domains as their base.
-- BC dates/timestamps are special-cased by the test script (PostgreSQL's own
-- to_json keeps " BC"; the connector writes ISO-8601 astronomical years).
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = 3;
CREATE FUNCTION pg_temp.b64(bytea) RETURNS text LANGUAGE sql AS
  $$ SELECT replace(encode($1, 'base64'), E'\n', '') $$;
CREATE FUNCTION pg_temp.z(json) RETURNS json LANGUAGE sql AS
  $$ SELECT regexp_replace($1::text, '\+00:00"', 'Z"', 'g')::json $$;
SELECT json_build_object(
  'id', id, 'b', b, 'by', pg_temp.b64(by), 'c', c, 'nm', nm, 'i8', i8, 'i2', i2, 'tx', tx,
  'o', o::text::bigint, 'j', j, 'x', x, 'f4', f4, 'f8', f8, 'm', m, 'bp', bp, 'vc', vc, 'd', d,
  't', t, 'ts', ts, 'tstz', pg_temp.z(to_json(tstz)), 'iv', iv, 'ttz', ttz, 'bt', bt, 'vb', vb,
  'n', n::text, 'u', u, 'jb', jb, 'ip', ip, 'cd', cd, 'mac', mac,
  'a_i4', a_i4, 'a_tx', a_tx, 'a_i8', a_i8, 'a_b', a_b, 'a_f8', a_f8,
  'a_n', CASE WHEN a_n IS NULL THEN NULL
              ELSE coalesce((SELECT json_agg(v::text) FROM unnest(a_n) v), '[]') END,
  'a_vc', a_vc, 'a_u', a_u, 'a_jb', a_jb, 'a_tstz', pg_temp.z(to_json(a_tstz)), 'a_d', a_d,
  'a_by', CASE WHEN a_by IS NULL THEN NULL
               ELSE coalesce((SELECT json_agg(pg_temp.b64(v)) FROM unnest(a_by) v), '[]') END,
  'e', e, 'a_e', a_e, 'dm', dm)
FROM types ORDER BY id;
SELECT json_build_object('id', id, 'm', m, 't', t) FROM arr2 ORDER BY id;
