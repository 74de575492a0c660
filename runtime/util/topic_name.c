/* topic_name.c — see topic_name.h. */
#include "util/topic_name.h"

#include <string.h>

const char *topic_name_problem(const char *name)
{
    if (!name || !*name) return "a topic name cannot be empty";
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return "'.' and '..' are not topic names";
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                 c == '_' || c == '-';
        if (!ok) return "a topic name may only contain letters, digits, '.', '_' and '-'";
    }
    if (n > TOPIC_NAME_MAX) return "a topic name is at most 249 characters long";
    return NULL;
}
