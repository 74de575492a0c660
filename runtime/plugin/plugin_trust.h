/*
 * plugin_trust.h — whether a plugin file may be loaded at all, judged by who
 * could have written it (plugin_trust.c). Internal to runtime/plugin.
 *
 * Both functions write a one-line reason into why (caller-owned) on
 * refusal; the reason names the file or directory and says how to fix it.
 */
#ifndef FERRY_PLUGIN_TRUST_H
#define FERRY_PLUGIN_TRUST_H

#include <stddef.h>

/* Resolves dir (realpath) and checks it and every directory above it.
 * 0 with *real_dir = the resolved path (malloc'd, the caller frees it), or
 * -1 with why. */
int plugin_trust_dir(const char *dir, char **real_dir, char *why, size_t whylen);

/* Checks the plugin file named by path's last component inside real_dir
 * (which passed plugin_trust_dir): a regular file, or a symlink to one in
 * the same directory, owned by root or the user running ferry, writable by
 * neither group nor others. 0 with *file = the path to dlopen (malloc'd),
 * or -1 with why, which names path as the caller gave it. */
int plugin_trust_file(const char *real_dir, const char *path, char **file, char *why, size_t whylen);

#endif
