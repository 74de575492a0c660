/* test_connectors.h — small connector descriptors the config tests validate against. */
#ifndef FERRY_TEST_CONNECTORS_H
#define FERRY_TEST_CONNECTORS_H

#include <ferry/ferry.h>

/* "test-source": options path (string, required), topic (string, required),
 * mode (enum fast|safe|slow, default safe), poll.interval (duration, default
 * 1s, 10ms..1h), max.size (size, default 16MiB, max 1GiB), count (int,
 * 0..100), ratio (double 0..1), enabled (bool, default true), tables (list,
 * 1..3 items), props (map), password (secret). validate() fails when
 * mode is slow, echoing the password in its message. */
extern const ferry_connector_t test_source;
/* "test-sink": option target (string, default "out"); redefines
 * flush.interval with default 30s. */
extern const ferry_connector_t test_sink;
/* A host table whose cfg_* members are the config_* getters. */
/* The runtime's own host table (its config getters are the config_* functions). */
#include "engine/host.h"
#define test_host (*host_api())

#endif
