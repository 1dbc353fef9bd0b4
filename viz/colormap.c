/* Colormaps: lookup of matplotlib's generated tables and matplotlib's float → bin rule. */
#include "base/es_base.h"
#include "viz/colormap_data.h"
#include "viz/internal.h"
#include <string.h>

struct es_cmap {
    es_cmap_table t;
};

const es_cmap *es_cmap_get(const char *name)
{
    for (const es_cmap_table *t = es_cmap_tables; name && t->name; t++)
        if (strcmp(t->name, name) == 0)
            return (const es_cmap *)t; /* es_cmap is a table with a private name */
    es_fail("unknown colormap '%s' (known: %s)", name ? name : "(null)", es_cmap_list());
    return NULL;
}

const char *es_cmap_list(void)
{
    return "viridis magma inferno plasma cividis gray RdBu_r bwr Greens Reds Blues RdWhGn";
}

/* matplotlib.colors.Colormap.__call__: xa = v·N; xa == N → N−1; negative → under (entry 0
 * here, as no under colour is set); > N−1 → over (entry N−1); NaN → bad (transparent).
 * v·256 is exact in binary floating point, so float and double agree. */
int es_cmap_index(float v)
{
    if (v != v)
        return -1;
    float x = v * 256.0f;
    if (x < 0)
        return 0;
    if (x >= 255.0f)
        return 255;
    return (int)x;
}

es_rgba es_cmap_entry(const es_cmap *m, int i)
{
    if (i < 0 || i > 255)
        return (es_rgba){0, 0, 0, 0};
    const unsigned char *e = m->t.lut[i];
    return (es_rgba){e[0], e[1], e[2], e[3]};
}

const uint8_t (*es_viz_cmap_lut(const es_cmap *m))[4] { return m->t.lut; }
