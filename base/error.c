#include "base/es_base.h"
#include <stdarg.h>
#include <string.h>

static _Thread_local char message[512];

const char *es_error(void) { return message; }

int es_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return -1;
}

int es_error_prefix(const char *fmt, ...)
{
    char old[sizeof message];
    memcpy(old, message, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    size_t k = strlen(message), room = sizeof message - 1;
    if (k + 2 <= room) { /* ": " then as much of the old message as fits */
        size_t m = strnlen(old, room - k - 2);
        memcpy(message + k, ": ", 2);
        memcpy(message + k + 2, old, m);
        message[k + 2 + m] = 0;
    }
    return -1;
}
