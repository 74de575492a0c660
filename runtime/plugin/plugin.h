/*
 * plugin.h — the plugin loader and the registry of connectors.
 *
 * Loading refuses, with one log line naming the file and the reason, and
 * goes on with the next file: not a shared object / dlopen error, no
 * ferry_plugin_entry, ABI major mismatch, descriptor struct too small,
 * missing required callbacks, duplicate connector name, and a file that
 * someone other than root or ferry's user could have written (group- or
 * world-writable file or directory, a symlink out of the plugin directory,
 * another owner; see plugin_trust.h). A directory that fails those checks
 * is refused as a whole.
 * dlopen uses RTLD_NOW | RTLD_LOCAL (never RTLD_DEEPBIND: it breaks ASan).
 *
 * Threads: load functions from the main thread, before tasks start; lookups
 * from any thread afterwards (the registry is then immutable).
 */
#ifndef FERRY_PLUGIN_H
#define FERRY_PLUGIN_H

#include <ferry/ferry.h>
#include <stdio.h>

typedef struct plugin_registry plugin_registry_t;

plugin_registry_t *plugin_registry_new(void);
void plugin_registry_free(plugin_registry_t *reg); /* dlcloses; NULL is a no-op */

/* Loads one file. 0 on success; -1 with err = "plugin FILE: REASON". */
int plugin_registry_load_file(plugin_registry_t *reg, const char *path, char *err, size_t errlen);
/* Loads every *.so in dir (sorted by name), logging each refusal with
 * log_error. Returns the number of plugins loaded, or -1 when the directory
 * cannot be read or is not trusted (also logged, naming the directory). */
int plugin_registry_load_dir(plugin_registry_t *reg, const char *dir);
/* Registers a descriptor that is already in memory (tests). Same checks. */
int plugin_registry_add(plugin_registry_t *reg, const ferry_plugin_t *plugin, const char *origin,
                        char *err, size_t errlen);

/* A connector by name, or NULL. *origin (optional) = the file it came from. */
const ferry_connector_t *plugin_registry_find(const plugin_registry_t *reg, const char *name,
                                              const char **origin);
size_t plugin_registry_count(const plugin_registry_t *reg);
const ferry_connector_t *plugin_registry_get(const plugin_registry_t *reg, size_t index,
                                             const ferry_plugin_t **plugin, const char **origin);
/* Names of all connectors (for did-you-mean); array owned by the registry. */
size_t plugin_registry_names(const plugin_registry_t *reg, const char *const **names);

/* `ferry plugins`: human text, JSON, and the Markdown reference for the
 * README/docs. Secret defaults are never printed. extra_options (may be
 * NULL) are the framework options printed for each connector kind. */
void plugin_registry_print_text(const plugin_registry_t *reg, FILE *out);
char *plugin_registry_to_json(const plugin_registry_t *reg); /* malloc'd */
void plugin_registry_print_markdown(const plugin_registry_t *reg, FILE *out);

/* Option-table helpers shared with config and docs. */
const char *plugin_opt_type_name(ferry_opt_type_t type); /* "string", "duration", ... */
/* One option table as a Markdown table (e.g. the framework or worker
 * options in docs); secret defaults shown as "[hidden]". */
void plugin_options_print_markdown(const ferry_option_t *options, FILE *out);

#endif
