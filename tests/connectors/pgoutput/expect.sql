-- Expected JSON row images for table `types` (and arr2), computed by
-- PostgreSQL itself from the table contents, one object per line, ordered by
-- id. The conversions are Debezium's defaults as documented at pg_value_json
-- (pgoutput.h), computed here independently: numeric without scale as
-- {scale, value} with the unscaled value's two's complement bytes in base64
-- (by repeated division, where the connector multiplies up), money the same
-- at scale 2, bytea base64, date days since the epoch, time and timestamp
-- microseconds (timestamp ±infinity as the JDBC driver's sentinels), timestamptz UTC with 6 fraction digits, timetz UTC, interval
-- microseconds with 30.4375-day months (in float8 as Debezium computes it),
-- bit/varbit little-endian bytes, json/jsonb as strings, arrays as JSON
-- arrays, enums as strings, domains as their base.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = 3;
CREATE FUNCTION pg_temp.b64(bytea) RETURNS text LANGUAGE sql AS
  $$ SELECT replace(encode($1, 'base64'), E'\n', '') $$;
-- Big-endian two's complement of an integral numeric, fewest bytes.
CREATE FUNCTION pg_temp.twos(v numeric) RETURNS bytea LANGUAGE plpgsql STRICT AS $$
DECLARE
  m numeric := abs(v);
  b bytea := '\x';
  carry int := 1;
  x int;
BEGIN
  WHILE m > 0 LOOP
    b := set_byte('\x00'::bytea, 0, mod(m, 256)::int) || b;
    m := div(m, 256);
  END LOOP;
  IF length(b) = 0 THEN
    RETURN '\x00'::bytea;
  END IF;
  IF v > 0 THEN
    IF get_byte(b, 0) >= 128 THEN
      b := '\x00'::bytea || b;
    END IF;
    RETURN b;
  END IF;
  FOR i IN REVERSE length(b) - 1 .. 0 LOOP
    x := 255 - get_byte(b, i) + carry;
    carry := x >> 8;
    b := set_byte(b, i, x & 255);
  END LOOP;
  IF get_byte(b, 0) < 128 THEN
    b := '\xff'::bytea || b;
  END IF;
  RETURN b;
END $$;
-- Debezium's VariableScaleDecimal; NaN and infinities → null.
CREATE FUNCTION pg_temp.vsd(v numeric) RETURNS json LANGUAGE sql AS $$
  SELECT CASE WHEN v IS NULL OR v = 'NaN' OR v = 'Infinity' OR v = '-Infinity' THEN NULL
    ELSE json_build_object('scale', scale(trim_scale(v)),
      'value', pg_temp.b64(pg_temp.twos(trim_scale(v) * power(10::numeric, scale(trim_scale(v)))))) END $$;
CREATE FUNCTION pg_temp.days(d date) RETURNS json LANGUAGE sql AS $$
  SELECT CASE WHEN isfinite(d) THEN to_json(d - '1970-01-01'::date) ELSE to_json(d::text) END $$;
CREATE FUNCTION pg_temp.zts(t timestamptz) RETURNS json LANGUAGE sql AS $$
  SELECT CASE WHEN isfinite(t) THEN to_json(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    ELSE to_json(t::text) END $$;
CREATE FUNCTION pg_temp.micros(iv interval) RETURNS bigint LANGUAGE sql AS $$
  SELECT trunc((((((extract(year FROM iv) * 12 + extract(month FROM iv))::float8 * (365.25::float8 / 12.0::float8)
    + extract(day FROM iv)::float8) * 24 + extract(hour FROM iv)::float8) * 60
    + extract(minute FROM iv)::float8) * 60 + extract(second FROM iv)::float8) * 1e6::float8)::bigint $$;
-- Debezium's Bits: bit k from the right is bit k of little-endian bytes,
-- up to the highest set bit.
CREATE FUNCTION pg_temp.bits(b varbit) RETURNS text LANGUAGE plpgsql STRICT AS $$
DECLARE
  n int := length(b);
  o bytea := decode(repeat('00', (n + 7) / 8), 'hex');
  used int := 0;
BEGIN
  FOR k IN 0 .. n - 1 LOOP
    IF get_bit(b, n - 1 - k) = 1 THEN
      o := set_byte(o, k / 8, get_byte(o, k / 8) | (1 << (k % 8)));
      used := greatest(used, k / 8 + 1);
    END IF;
  END LOOP;
  RETURN pg_temp.b64(substring(o FROM 1 FOR used));
END $$;
SELECT json_build_object(
  'id', id, 'b', b, 'by', pg_temp.b64(by), 'c', c, 'nm', nm, 'i8', i8, 'i2', i2, 'tx', tx,
  'o', o::text::bigint, 'j', j::text, 'x', x, 'f4', f4, 'f8', f8,
  'm', pg_temp.b64(pg_temp.twos(m::numeric * 100)), 'bp', bp, 'vc', vc, 'd', pg_temp.days(d),
  't', (extract(epoch FROM t) * 1000000)::bigint,
  'ts', CASE WHEN isfinite(ts) THEN to_json((extract(epoch FROM ts) * 1000000)::bigint)
             WHEN ts = 'infinity' THEN to_json(9223372036825200000)
             WHEN ts = '-infinity' THEN to_json(-9223372036832400000) END,
  'tstz', pg_temp.zts(tstz), 'iv', pg_temp.micros(iv),
  'ttz', ((ttz AT TIME ZONE 'UTC')::time)::text || 'Z', 'bt', pg_temp.bits(bt), 'vb', pg_temp.bits(vb),
  'n', pg_temp.vsd(n), 'u', u, 'jb', jb::text, 'ip', ip, 'cd', cd, 'mac', mac,
  'a_i4', a_i4, 'a_tx', a_tx, 'a_i8', a_i8, 'a_b', a_b, 'a_f8', a_f8,
  'a_n', CASE WHEN a_n IS NULL THEN NULL
              ELSE coalesce((SELECT json_agg(pg_temp.vsd(v)) FROM unnest(a_n) v), '[]') END,
  'a_vc', a_vc, 'a_u', a_u,
  'a_jb', CASE WHEN a_jb IS NULL THEN NULL
               ELSE coalesce((SELECT json_agg(v::text) FROM unnest(a_jb) v), '[]') END,
  'a_tstz', CASE WHEN a_tstz IS NULL THEN NULL
                 ELSE coalesce((SELECT json_agg(pg_temp.zts(v)) FROM unnest(a_tstz) v), '[]') END,
  'a_d', CASE WHEN a_d IS NULL THEN NULL
              ELSE coalesce((SELECT json_agg(pg_temp.days(v)) FROM unnest(a_d) v), '[]') END,
  'a_by', CASE WHEN a_by IS NULL THEN NULL
               ELSE coalesce((SELECT json_agg(pg_temp.b64(v)) FROM unnest(a_by) v), '[]') END,
  'e', e, 'a_e', a_e, 'dm', dm)
FROM types ORDER BY id;
SELECT json_build_object('id', id, 'm', m, 't', t) FROM arr2 ORDER BY id;
