#include "base/es_base.h"
#include <stdarg.h>

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
