-- Tables and rows for pgoutput_pg_test.sh: every built-in type the connector
-- maps, with the awkward values (NULL vs empty, NaN/Infinity, BC, infinity,
-- unicode, quotes/backslashes/commas in arrays, nested arrays, bounds).
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE types (
    id int PRIMARY KEY,
    b bool, by bytea, c "char", nm name, i8 int8, i2 int2, tx text, o oid, j json, x xml,
    f4 float4, f8 float8, m money, bp char(5), vc varchar(20), d date, t time, ts timestamp,
    tstz timestamptz, iv interval, ttz timetz, bt bit(4), vb varbit, n numeric, u uuid,
    jb jsonb, ip inet, cd cidr, mac macaddr,
    a_i4 int4[], a_tx text[], a_i8 int8[], a_b bool[], a_f8 float8[], a_n numeric[],
    a_vc varchar[], a_u uuid[], a_jb jsonb[], a_tstz timestamptz[], a_d date[], a_by bytea[],
    e mood, a_e mood[], dm posint
);
INSERT INTO types VALUES
(1, true, '\x0001feff', 'a', 'name1', 9223372036854775807, -32768, 'hello', 4294967295,
 '{"a": [1, 2.5, "x"], "b": null}', '<a>x</a>', 1.5, 0.1, 12.34, 'ab', 'varchar',
 '2024-01-02', '13:14:15.5', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+02',
 '1 year 2 months 3 days 04:05:06.5', '13:14:15+05:30', B'1010', B'101', 12345678901234567890.000000001,
 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": {"n": 1e3}, "s": "é"}', '192.168.0.1/24',
 '10.0.0.0/8', '08:00:2b:01:02:03',
 '{1,2,NULL,-4}', '{"a,b","q\"uote","back\\slash",NULL,"NULL","",with space, "  lead"}',
 '{-9223372036854775808}', '{t,f,NULL}', '{1.5,NaN,Infinity,-Infinity,1e-300}', '{1.10,NaN,-0.000001}',
 '{x,"{brace}"}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', ARRAY['{"a":1}'::jsonb, '[1,"}"]', 'null'],
 '{"2024-01-02 03:04:05+00","infinity"}', '{2024-01-02,NULL}', ARRAY['\x00'::bytea, '\x', '\x68656c6c6f'],
 'happy', '{sad,happy}', 7),
(2, false, '', 'z', '', -1, 0, '', 0, '[]', '', 'NaN', 'Infinity', -0.5, '', '',
 '0044-03-15 BC', '00:00:00', '0001-01-01 00:00:00 BC', '2000-01-01 00:00:00+00',
 '0', '00:00:00-08', B'0000', B'', 'NaN', '00000000-0000-0000-0000-000000000000', '"str"',
 '::1', '::/0', 'ff:ff:ff:ff:ff:ff',
 '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', 'sad', '{}', 1),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(4, true, decode(repeat('ff00', 100), 'hex'), '"', 'n"q', 0, 32767,
 E'unicode: \u00e9\u4e2d\U0001F600 tab\t nl\n quote" backslash\\ ctrl' || chr(1), 1,
 '"\u00e9 \\n"', '<x/>', '-Infinity', '-1.7976931348623157e308', 0, 'abcde', 'é中', 'infinity', '24:00:00',
 '-infinity', 'infinity', 'P-1Y-2M', '23:59:59.999999+14', B'1111', B'1', '-Infinity',
 'ffffffff-ffff-ffff-ffff-ffffffffffff', '[1, [2, [3, {}]]]', '10.1.2.3', '10.1.0.0/16', '00:00:00:00:00:00',
 '[0:1]={5,6}', ARRAY[E'multi\nline', E'uni\u00e9'], '{0}', '{true}', '{0,-0}', '{123456789012345678901234567890.5}',
 '{"",NULL}', '{NULL}', '{NULL}', '{"1999-12-31 23:59:59.999999+00"}', '{-infinity,"0010-01-01 BC"}',
 '{NULL,"\\\\x41"}', NULL, '{NULL,ok}', 2147483647);

CREATE TABLE arr2 (id int PRIMARY KEY, m int[][], t text[][]);
INSERT INTO arr2 VALUES (1, '{{1,2},{3,NULL}}', '{{"a","b c"},{"{","}"}}'),
                        (2, '[1:2][0:1]={{1,2},{3,4}}', '{{{x}}}');
