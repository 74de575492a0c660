/* smt_debezium.c — placeholder until its transforms land. */
#include "transform/transform_internal.h"

const xf_type_t *const xf_types_debezium[] = {NULL};
