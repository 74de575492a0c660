/*
 * test_smt_fields.c — ReplaceField, MaskField, ValueToKey, ExtractField,
 * HoistField, SetSchemaMetadata, Cast, Flatten and TimestampConverter,
 * schemaless and with a schema. Expected bytes are what Kafka Connect's
 * transforms followed by JsonConverter write (derived from Connect 4.0's
 * sources), not what this code happens to print.
 */
#include "xf_test.h"


/* One transform of type with options ("key", "value", ..., NULL, without
 * the transforms.t. prefix) on a record whose value is in (an envelope when
 * form is XF_ENVELOPE) and whose key is "k". Returns the side's bytes
 * ('k' or 'v') under the matching JSON converter, "FAIL: <why>" or
 * "CONFIG: <errors>" (malloc'd). */
static char *run(char side, const char *type, xf_form_t form, const char *in, const char *first, ...)
{
    const char *keys[32], *values[32];
    char *owned[32];
    size_t n = 0, no = 0;
    keys[n] = "connector", values[n++] = "test-source";
    keys[n] = "transforms", values[n++] = "t";
    keys[n] = "transforms.t.type", values[n++] = type;
    va_list ap;
    va_start(ap, first);
    for (const char *k = first; k && n < 31; k = va_arg(ap, const char *)) {
        keys[n] = owned[no++] = malloc(strlen(k) + 16);
        sprintf(owned[no - 1], "transforms.t.%s", k);
        values[n++] = va_arg(ap, const char *);
    }
    va_end(ap);
    cfg_errors_t errs = {0};
    ferry_config_t *cfg = connector_config_from_kv("t", keys, values, NULL, n, &xf_test_source, host_api(), &errs);
    for (size_t i = 0; i < no; i++) free(owned[i]);
    assert_non_null(cfg);
    cfg_errors_clear(&errs);
    char err[1024], *out;
    xf_chain_t *ch = xf_test_chain(cfg, err, sizeof(err));
    config_free(cfg);
    if (!ch) {
        out = malloc(strlen(err) + 16);
        sprintf(out, "CONFIG: %s", err);
        return out;
    }
    xf_record_t r;
    xf_record_init(&r, "orders", 0, "\"k\"", 3, XF_JSON, in, in ? strlen(in) : 0, form, 1000);
    if (xf_chain_apply(ch, &r, err, sizeof(err)) == XF_FAIL) {
        out = malloc(strlen(err) + 16);
        sprintf(out, "FAIL: %s", err);
    } else {
        const xf_converter_t *c = form == XF_ENVELOPE ? &JSON_SCHEMAS : &JSON_PLAIN;
        out = side == 'k' ? xf_test_key(&r, c) : xf_test_value(&r, c);
    }
    xf_record_clear(&r);
    xf_chain_free(ch);
    return out;
}

#define WANT(got, want)                                                                                         \
    do {                                                                                                        \
        char *got_ = (got);                                                                                     \
        assert_string_equal(got_, want);                                                                        \
        free(got_);                                                                                             \
    } while (0)

/* got contains want. */
#define WANT_IN(got, want)                                                                                      \
    do {                                                                                                        \
        char *got_ = (got);                                                                                     \
        if (!strstr(got_, want)) fail_msg("'%s' not in '%s'", want, got_);                                      \
        free(got_);                                                                                             \
    } while (0)

#define F_INT32(n) "{\"type\":\"int32\",\"optional\":false,\"field\":\"" n "\"}"
#define F_STR(n) "{\"type\":\"string\",\"optional\":false,\"field\":\"" n "\"}"
#define F_OSTR(n) "{\"type\":\"string\",\"optional\":true,\"field\":\"" n "\"}"
#define ENV(schema, payload) "{\"schema\":" schema ",\"payload\":" payload "}"

/* A struct {id int32, name string, email optional string} named "order". */
#define ORDER_SCHEMA "{\"type\":\"struct\",\"fields\":[" F_INT32("id") "," F_STR("name") "," F_OSTR("email") \
                     "],\"optional\":false,\"name\":\"order\"}"
#define ORDER ENV(ORDER_SCHEMA, "{\"id\":7,\"name\":\"ann\",\"email\":null}")

/* ---- ReplaceField ------------------------------------------------------------------------------ */

static void test_replace_field(void **state)
{
    (void)state;
    const char *v = "{\"a\":1,\"b\":2,\"c\":3}";
    WANT(run('v', "ReplaceField$Value", XF_JSON, v, "exclude", "b", NULL), "{\"a\":1,\"c\":3}");
    WANT(run('v', "ReplaceField$Value", XF_JSON, v, "include", "c,a", "renames", "a:x", NULL), "{\"x\":1,\"c\":3}");
    /* exclude wins over include; the old names still work. */
    WANT(run('v', "ReplaceField$Value", XF_JSON, v, "whitelist", "a,b", "blacklist", "a", NULL), "{\"b\":2}");
    WANT(run('v', "ReplaceField$Value", XF_JSON, NULL, "exclude", "a", NULL), "(null)");
    /* With a schema: fields dropped and renamed; the new schema keeps the name but not "optional" (copySchemaBasics). */
    WANT(run('v', "ReplaceField$Value", XF_ENVELOPE, ORDER, "exclude", "email", "renames", "id:order_id", NULL),
         ENV("{\"type\":\"struct\",\"fields\":[" F_INT32("order_id") "," F_STR("name") "],\"optional\":false,"
             "\"name\":\"order\"}", "{\"order_id\":7,\"name\":\"ann\"}"));
    WANT(run('k', "ReplaceField$Key", XF_JSON, "{}", "exclude", "a", NULL), "FAIL: transform t (ReplaceField$Key): "
         "only Map objects supported in absence of schema for [field replacement], found a string");
    WANT_IN(run('v', "ReplaceField$Value", XF_JSON, v, "renames", "a:b:c", NULL),
            "option 'renames': invalid rename mapping 'a:b:c' (want old:new)");
    WANT_IN(run('v', "ReplaceField$Value", XF_JSON, v, "renames", "a:", NULL), "invalid rename mapping 'a:'");
    WANT_IN(run('v', "ReplaceField$Value", XF_JSON, v, "exlude", "a", NULL),
            "unknown option 'exlude' (did you mean 'exclude'?)");
}

/* ---- MaskField --------------------------------------------------------------------------------- */

static void test_mask_field(void **state)
{
    (void)state;
    const char *v = "{\"i\":5,\"d\":2.5,\"b\":true,\"s\":\"x\",\"a\":[1],\"m\":{\"k\":1},\"n\":null,\"keep\":1}";
    WANT(run('v', "MaskField$Value", XF_JSON, v, "fields", "i,d,b,s,a,m,n,gone", NULL),
         "{\"i\":0,\"d\":0.0,\"b\":false,\"s\":\"\",\"a\":[],\"m\":{},\"n\":null,\"keep\":1,\"gone\":null}");
    WANT(run('v', "MaskField$Value", XF_JSON, v, "fields", "i,s", "replacement", "42", NULL),
         "{\"i\":42,\"d\":2.5,\"b\":true,\"s\":\"42\",\"a\":[1],\"m\":{\"k\":1},\"n\":null,\"keep\":1}");
    WANT_IN(run('v', "MaskField$Value", XF_JSON, v, "fields", "i", "replacement", "abc", NULL),
            "field 'i': unable to convert replacement 'abc' to a number");
    WANT_IN(run('v', "MaskField$Value", XF_JSON, v, "fields", "b", "replacement", "x", NULL),
            "field 'b': cannot mask a boolean with a custom replacement");
    /* With a schema: by the field's type; the schema is unchanged. */
    WANT(run('v', "MaskField$Value", XF_ENVELOPE, ORDER, "fields", "id,name,email", NULL),
         ENV(ORDER_SCHEMA, "{\"id\":0,\"name\":\"\",\"email\":null}"));
    WANT(run('v', "MaskField$Value", XF_ENVELOPE, ORDER, "fields", "name", "replacement", "***", NULL),
         ENV(ORDER_SCHEMA, "{\"id\":7,\"name\":\"***\",\"email\":null}"));
    /* Connect's MaskField fails on a tombstone. */
    WANT_IN(run('v', "MaskField$Value", XF_JSON, NULL, "fields", "a", NULL),
            "only Map objects supported in absence of schema for [mask fields], found null");
    WANT_IN(run('v', "MaskField$Value", XF_JSON, v, NULL), "option 'fields' needs at least one field name");
    WANT_IN(run('v', "MaskField$Value", XF_JSON, v, "fields", "a", "replacement", "", NULL),
            "option 'replacement': must not be empty");
}

/* ---- ValueToKey -------------------------------------------------------------------------------- */

static void test_value_to_key(void **state)
{
    (void)state;
    WANT(run('k', "ValueToKey", XF_JSON, "{\"a\":1,\"b\":\"x\",\"c\":3}", "fields", "b,a,z", NULL),
         "{\"b\":\"x\",\"a\":1,\"z\":null}");
    WANT(run('k', "org.apache.kafka.connect.transforms.ValueToKey", XF_ENVELOPE, ORDER, "fields", "name,id", NULL),
         ENV("{\"type\":\"struct\",\"fields\":[" F_STR("name") "," F_INT32("id") "],\"optional\":false}",
             "{\"name\":\"ann\",\"id\":7}"));
    /* The value is unchanged. */
    WANT(run('v', "ValueToKey", XF_ENVELOPE, ORDER, "fields", "id", NULL), ORDER);
    WANT_IN(run('k', "ValueToKey", XF_ENVELOPE, ORDER, "fields", "nope", NULL),
            "field 'nope' is not in the value's schema");
    WANT_IN(run('k', "ValueToKey", XF_JSON, "[1]", "fields", "a", NULL),
            "only Map objects supported in absence of schema for [copying fields from value to key], found an array");
    WANT_IN(run('k', "ValueToKey$Value", XF_JSON, "{}", "fields", "a", NULL), "unknown type 'ValueToKey$Value'");
    WANT_IN(run('k', "ValueToKey", XF_JSON, "{}", "fields", " , ", NULL), "option 'fields' needs at least one");
}

/* ---- ExtractField ------------------------------------------------------------------------------ */

static void test_extract_field(void **state)
{
    (void)state;
    const char *v = "{\"a\":{\"b.c\":{\"d\":4}},\"x\":\"s\"}";
    WANT(run('v', "ExtractField$Value", XF_JSON, v, "field", "x", NULL), "\"s\"");
    WANT(run('v', "ExtractField$Value", XF_JSON, v, "field", "a", NULL), "{\"b.c\":{\"d\":4}}");
    /* V1: the dotted name is one field (there is none). */
    WANT(run('v', "ExtractField$Value", XF_JSON, v, "field", "a.b", NULL), "(null)");
    WANT(run('v', "ExtractField$Value", XF_JSON, v, "field", "a.`b.c`.d", "field.syntax.version", "v2", NULL), "4");
    WANT(run('v', "ExtractField$Value", XF_JSON, v, "field", "x.y", "field.syntax.version", "V2", NULL),
         "FAIL: transform t (ExtractField$Value): field 'x' on the path 'x.y' is a string, not a Struct or a Map");
    WANT(run('v', "ExtractField$Value", XF_JSON, NULL, "field", "x", NULL), "(null)");
    WANT(run('v', "ExtractField$Value", XF_ENVELOPE, ORDER, "field", "name", NULL),
         ENV("{\"type\":\"string\",\"optional\":false}", "\"ann\""));
    WANT(run('v', "ExtractField$Value", XF_ENVELOPE, ENV(ORDER_SCHEMA, "null"), "field", "email", NULL),
         ENV("{\"type\":\"string\",\"optional\":true}", "null"));
    WANT_IN(run('v', "ExtractField$Value", XF_ENVELOPE, ORDER, "field", "nope", NULL),
            "unknown field: 'nope' is not in the value's schema");
    WANT_IN(run('v', "ExtractField$Value", XF_JSON, v, "field", "`a", "field.syntax.version", "V2", NULL),
            "incomplete backtick pair in path '`a'");
    WANT_IN(run('v', "ExtractField$Value", XF_JSON, v, "field", "a", "field.syntax.version", "V3", NULL),
            "option 'field.syntax.version': 'V3' is not V1 or V2");
    WANT_IN(run('v', "ExtractField$Value", XF_JSON, v, NULL), "missing option 'field'");
}

/* ---- HoistField -------------------------------------------------------------------------------- */

static void test_hoist_field(void **state)
{
    (void)state;
    WANT(run('v', "HoistField$Value", XF_JSON, "[1,2]", "field", "line", NULL), "{\"line\":[1,2]}");
    WANT(run('v', "HoistField$Value", XF_JSON, NULL, "field", "line", NULL), "{\"line\":null}");
    WANT(run('k', "HoistField$Key", XF_JSON, "1", "field", "id", NULL), "{\"id\":\"k\"}");
    WANT(run('v', "HoistField$Value", XF_ENVELOPE, ENV("{\"type\":\"int64\",\"optional\":false}", "5"), "field", "n",
             NULL),
         ENV("{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\",\"optional\":false,\"field\":\"n\"}],"
             "\"optional\":false}", "{\"n\":5}"));
    WANT_IN(run('v', "HoistField$Value", XF_ENVELOPE, ENV("{\"type\":\"int64\",\"optional\":false}", "null"), "field",
                "n", NULL),
            "invalid value: null used for required field 'n'");
    WANT_IN(run('v', "HoistField$Value", XF_JSON, "1", NULL), "missing option 'field'");
}

/* ---- SetSchemaMetadata ------------------------------------------------------------------------- */

static void test_set_schema_metadata(void **state)
{
    (void)state;
    WANT(run('v', "SetSchemaMetadata$Value", XF_ENVELOPE, ORDER, "schema.name", "com.acme.Order", "schema.version",
             "3", NULL),
         ENV("{\"type\":\"struct\",\"fields\":[" F_INT32("id") "," F_STR("name") "," F_OSTR("email") "],"
             "\"optional\":false,\"name\":\"com.acme.Order\",\"version\":3}",
             "{\"id\":7,\"name\":\"ann\",\"email\":null}"));
    /* "version" goes after "name" whatever the order it came in. */
    WANT(run('v', "SetSchemaMetadata$Value", XF_ENVELOPE,
             ENV("{\"version\":1,\"type\":\"string\",\"optional\":true}", "\"x\""), "schema.name", "n", NULL),
         ENV("{\"type\":\"string\",\"optional\":true,\"name\":\"n\",\"version\":1}", "\"x\""));
    WANT(run('v', "SetSchemaMetadata$Value", XF_JSON, NULL, "schema.name", "n", NULL), "(null)");
    WANT_IN(run('v', "SetSchemaMetadata$Value", XF_JSON, "{}", "schema.name", "n", NULL),
            "schema required for [updating schema metadata]");
    WANT_IN(run('v', "SetSchemaMetadata$Value", XF_JSON, "{}", NULL), "neither schema.name nor schema.version is set");
    WANT_IN(run('v', "SetSchemaMetadata$Value", XF_JSON, "{}", "schema.version", "v1", NULL),
            "option 'schema.version': 'v1' is not a 32-bit integer");
}

/* ---- Cast -------------------------------------------------------------------------------------- */

static void test_cast_schemaless(void **state)
{
    (void)state;
    const char *v = "{\"i\":300,\"d\":-2.7,\"s\":\"12\",\"b\":true,\"f\":1.0E10}";
    WANT(run('v', "Cast$Value", XF_JSON, v, "spec", "i:int8,d:int32,s:int64,b:string,f:string,gone:int8", NULL),
         "{\"i\":44,\"d\":-2,\"s\":12,\"b\":\"true\",\"f\":\"1.0E10\",\"gone\":null}");
    WANT(run('v', "Cast$Value", XF_JSON, "{\"i\":300,\"d\":0.5,\"s\":\"12\",\"e\":-2.7e-5}", "spec",
             "i:boolean,d:boolean,s:float64,e:string", NULL),
         "{\"i\":true,\"d\":false,\"s\":12.0,\"e\":\"-2.7E-5\"}");
    WANT(run('v', "Cast$Value", XF_JSON, "\"TRUE\"", "spec", "boolean", NULL), "true");
    WANT(run('v', "Cast$Value", XF_JSON, "123", "spec", "string", NULL), "\"123\"");
    WANT(run('v', "Cast$Value", XF_JSON, NULL, "spec", "string", NULL), "(null)");
    WANT_IN(run('v', "Cast$Value", XF_JSON, "{\"s\":\"abc\"}", "spec", "s:int32", NULL),
            "value 'abc' is not a number or out of range for int32");
    WANT_IN(run('v', "Cast$Value", XF_JSON, "{\"s\":\"200\"}", "spec", "s:int8", NULL),
            "value '200' is not a number or out of range for int8");
    WANT_IN(run('v', "Cast$Value", XF_JSON, "{\"a\":1}", "spec", "string", NULL),
            "Cast does not support casting from map");
}

static void test_cast_schema(void **state)
{
    (void)state;
    WANT(run('v', "Cast$Value", XF_ENVELOPE, ORDER, "spec", "id:string,name:int8", NULL),
         "FAIL: transform t (Cast$Value): value 'ann' is not a number or out of range for int8 (field 'name')");
    WANT(run('v', "Cast$Value", XF_ENVELOPE, ORDER, "spec", "id:float32", NULL),
         ENV("{\"type\":\"struct\",\"fields\":[{\"type\":\"float32\",\"optional\":false,\"field\":\"id\"}," F_STR("name")
             "," F_OSTR("email") "],\"optional\":false,\"name\":\"order\"}", "{\"id\":7.0,\"name\":\"ann\",\"email\":null}"));
    /* A whole value keeps its schema's name (copySchemaBasics); a Timestamp as a string is ISO 8601. */
    WANT(run('v', "Cast$Value", XF_ENVELOPE,
             ENV("{\"type\":\"int64\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data.Timestamp\","
                 "\"version\":1}", "1700000000123"), "spec", "string", NULL),
         ENV("{\"type\":\"string\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data.Timestamp\","
             "\"version\":1}", "\"2023-11-14T22:13:20.123Z\""));
    WANT(run('v', "Cast$Value", XF_ENVELOPE, ENV("{\"type\":\"float32\",\"optional\":false}", "0.1"), "spec",
             "string", NULL),
         ENV("{\"type\":\"string\",\"optional\":false}", "\"0.1\""));
    WANT(run('v', "Cast$Value", XF_ENVELOPE, ENV("{\"type\":\"bytes\",\"optional\":false}", "\"AQI=\""), "spec",
             "string", NULL),
         ENV("{\"type\":\"string\",\"optional\":false}", "\"AQI=\""));
    WANT_IN(run('v', "Cast$Value", XF_ENVELOPE, ENV("{\"type\":\"bytes\",\"optional\":false}", "\"AQI=\""), "spec",
                "int32", NULL),
            "bytes can only be cast to string");
    WANT_IN(run('v', "Cast$Value", XF_JSON, "1", "spec", "a:bytes", NULL),
            "Cast does not support casting to bytes");
    WANT_IN(run('v', "Cast$Value", XF_JSON, "1", "spec", "a:int9", NULL), "invalid type 'int9'");
    WANT_IN(run('v', "Cast$Value", XF_JSON, "1", "spec", "int8,a:int16", NULL),
            "a cast of the whole value (a type alone) must be the only cast");
    WANT_IN(run('v', "Cast$Value", XF_JSON, "1", "spec", "a:b:c", NULL), "invalid cast mapping 'a:b:c'");
    WANT_IN(run('v', "Cast$Value", XF_JSON, "1", NULL), "option 'spec' needs at least one cast");
}

/* ---- Flatten ----------------------------------------------------------------------------------- */

static void test_flatten(void **state)
{
    (void)state;
    WANT(run('v', "Flatten$Value", XF_JSON, "{\"a\":{\"b\":1,\"c\":{\"d\":[1]}},\"e\":null,\"f\":{}}", NULL),
         "{\"a.b\":1,\"a.c.d\":[1],\"e\":null}");
    WANT(run('v', "Flatten$Value", XF_JSON, "{\"a\":{\"b\":1}}", "delimiter", "_", NULL), "{\"a_b\":1}");
    WANT(run('v', "Flatten$Value", XF_JSON, NULL, NULL), "(null)");
    /* With a schema: an optional struct makes every field under it optional (the top one too); a null
     * struct gives null fields; the flattened schema itself is not optional (copySchemaBasics). */
    const char *in = ENV("{\"type\":\"struct\",\"fields\":[" F_INT32("id") ",{\"type\":\"struct\",\"fields\":["
                         F_STR("city") ",{\"type\":\"array\",\"items\":{\"type\":\"int32\",\"optional\":false},"
                         "\"optional\":false,\"field\":\"zips\"}],\"optional\":true,\"name\":\"addr\",\"field\":\"ad\"}],"
                         "\"optional\":true,\"name\":\"person\"}",
                         "{\"id\":1,\"ad\":null}");
    WANT(run('v', "Flatten$Value", XF_ENVELOPE, in, NULL),
         ENV("{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":true,\"field\":\"id\"},"
             F_OSTR("ad.city") ",{\"type\":\"array\",\"items\":"
             "{\"type\":\"int32\",\"optional\":false},\"optional\":true,\"field\":\"ad.zips\"}],\"optional\":false,"
             "\"name\":\"person\"}", "{\"id\":1,\"ad.city\":null,\"ad.zips\":null}"));
    WANT_IN(run('v', "Flatten$Value", XF_ENVELOPE,
                ENV("{\"type\":\"struct\",\"fields\":[{\"type\":\"map\",\"keys\":{\"type\":\"string\",\"optional\":"
                    "false},\"values\":{\"type\":\"string\",\"optional\":false},\"optional\":false,\"field\":\"m\"}],"
                    "\"optional\":false}", "{\"m\":{}}"), NULL),
            "Flatten does not support map for records with schemas (field 'm')");
    WANT_IN(run('v', "Flatten$Value", XF_JSON, "\"x\"", NULL),
            "only Map objects supported in absence of schema for [flattening], found a string");
    WANT_IN(run('v', "Flatten$Value", XF_JSON, "{}", "delimeter", "_", NULL), "did you mean 'delimiter'?");
}

/* ---- TimestampConverter ------------------------------------------------------------------------ */

#define TS_SCHEMA "{\"type\":\"int64\",\"optional\":false,\"name\":\"org.apache.kafka.connect.data.Timestamp\",\"version\":1}"

static void test_timestamp_schemaless(void **state)
{
    (void)state;
    const char *tc = "TimestampConverter$Value";
    WANT(run('v', tc, XF_JSON, "{\"ts\":1700000000123,\"x\":1}", "field", "ts", "target.type", "string", "format",
             "yyyy-MM-dd'T'HH:mm:ss.SSS 'at' EEE", NULL),
         "{\"ts\":\"2023-11-14T22:13:20.123 at Tue\",\"x\":1}");
    WANT(run('v', tc, XF_JSON, "\"2023-11-14 22:13:20\"", "target.type", "unix", "format", "yyyy-MM-dd HH:mm:ss",
             "unix.precision", "seconds", NULL),
         "1700000000");
    WANT(run('v', tc, XF_JSON, "\"20231114\"", "target.type", "unix", "format", "yyyyMMdd", NULL), "1699920000000");
    WANT(run('v', tc, XF_JSON, "1700000000123456", "target.type", "unix", "unix.precision", "microseconds", NULL),
         "1700000000123000");
    WANT(run('v', tc, XF_JSON, "{\"x\":1}", "field", "ts", "target.type", "unix", NULL), "{\"x\":1,\"ts\":null}");
    WANT(run('v', tc, XF_JSON, NULL, "target.type", "unix", NULL), "(null)");
    WANT_IN(run('v', tc, XF_JSON, "\"14/11/2023\"", "target.type", "unix", "format", "yyyy-MM-dd", NULL),
            "could not parse timestamp: value (14/11/2023) does not match pattern (yyyy-MM-dd)");
    WANT_IN(run('v', tc, XF_JSON, "1.5", "target.type", "unix", NULL),
            "TimestampConverter does not support a floating-point number as a timestamp");
}

static void test_timestamp_schema(void **state)
{
    (void)state;
    const char *tc = "TimestampConverter$Value";
    const char *in = ENV("{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":true,\"field\":\"at\"},"
                         F_INT32("n") "],\"optional\":false,\"name\":\"ev\"}",
                         "{\"at\":\"2023-11-14 22:13\",\"n\":1}");
    WANT(run('v', tc, XF_ENVELOPE, in, "field", "at", "target.type", "Timestamp", "format", "yyyy-MM-dd HH:mm", NULL),
         ENV("{\"type\":\"struct\",\"fields\":[{\"type\":\"int64\",\"optional\":true,\"name\":"
             "\"org.apache.kafka.connect.data.Timestamp\",\"version\":1,\"field\":\"at\"}," F_INT32("n")
             "],\"optional\":false,\"name\":\"ev\"}", "{\"at\":1699999980000,\"n\":1}"));
    WANT(run('v', tc, XF_ENVELOPE, ENV(TS_SCHEMA, "1700000000123"), "target.type", "Date", NULL),
         ENV("{\"type\":\"int32\",\"optional\":false,\"name\":\"org.apache.kafka.connect.data.Date\",\"version\":1}",
             "19675"));
    WANT(run('v', tc, XF_ENVELOPE, ENV(TS_SCHEMA, "1700000000123"), "target.type", "Time", NULL),
         ENV("{\"type\":\"int32\",\"optional\":false,\"name\":\"org.apache.kafka.connect.data.Time\",\"version\":1}",
             "80000123"));
    WANT(run('v', tc, XF_ENVELOPE, ENV(TS_SCHEMA, "1700000000123"), "target.type", "unix", "unix.precision",
             "nanoseconds", NULL),
         ENV("{\"type\":\"int64\",\"optional\":false}", "1700000000123000000"));
    WANT(run('v', tc, XF_ENVELOPE,
             ENV("{\"type\":\"int32\",\"optional\":false,\"name\":\"org.apache.kafka.connect.data.Date\",\"version\":1}",
                 "19675"), "target.type", "string", "format", "dd MMM yyyy", NULL),
         ENV("{\"type\":\"string\",\"optional\":false}", "\"14 Nov 2023\""));
    WANT_IN(run('v', tc, XF_ENVELOPE, ENV("{\"type\":\"int32\",\"optional\":false}", "5"), "target.type", "unix",
                NULL),
            "schema of type int32 is not a timestamp type");
    WANT_IN(run('v', tc, XF_JSON, "1", NULL), "missing option 'target.type'");
    WANT_IN(run('v', tc, XF_JSON, "1", "target.type", "date", NULL),
            "option 'target.type': 'date' is not one of string, unix, Date, Time, Timestamp");
    WANT_IN(run('v', tc, XF_JSON, "1", "target.type", "string", NULL),
            "option 'format' is required when target.type is string");
    WANT_IN(run('v', tc, XF_JSON, "1", "target.type", "string", "format", "yyyy-ww", NULL),
            "pattern letter 'w' is not supported by ferry");
    WANT_IN(run('v', tc, XF_JSON, "1", "target.type", "string", "format", "yyyy-bb", NULL),
            "pattern letter 'b' is not a SimpleDateFormat letter");
    WANT_IN(run('v', tc, XF_JSON, "1", "target.type", "unix", "unix.precision", "days", NULL),
            "option 'unix.precision': 'days' is not one of");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace_field),        cmocka_unit_test(test_mask_field),
        cmocka_unit_test(test_value_to_key),         cmocka_unit_test(test_extract_field),
        cmocka_unit_test(test_hoist_field),          cmocka_unit_test(test_set_schema_metadata),
        cmocka_unit_test(test_cast_schemaless),      cmocka_unit_test(test_cast_schema),
        cmocka_unit_test(test_flatten),              cmocka_unit_test(test_timestamp_schemaless),
        cmocka_unit_test(test_timestamp_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
