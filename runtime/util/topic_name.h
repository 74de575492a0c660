/* topic_name.h — Kafka's rules for topic names, shared by config validation
 * and the engine (a name the producer refuses must never reach it). */
#ifndef FERRY_UTIL_TOPIC_NAME_H
#define FERRY_UTIL_TOPIC_NAME_H

#include <stddef.h>

#define TOPIC_NAME_MAX 249

/* NULL when name is a legal Kafka topic name (1..249 characters of
 * [a-zA-Z0-9._-], not "." or ".."), else the reason, a static string. */
const char *topic_name_problem(const char *name);

#endif
