/* smt_routing.c — placeholder until its transforms land. */
#include "transform/transform_internal.h"

const xf_type_t *const xf_types_routing[] = {NULL};
