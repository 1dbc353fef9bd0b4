/* The generated tables (viz/colormap_data.c, from scripts/gen_colormaps.py). Internal. */
#ifndef ES_VIZ_COLORMAP_DATA_H
#define ES_VIZ_COLORMAP_DATA_H
typedef struct {
    const char *name;
    const unsigned char (*lut)[4]; /* 256 RGBA entries */
} es_cmap_table;
extern const es_cmap_table es_cmap_tables[]; /* ends with {0, 0} */
#endif
