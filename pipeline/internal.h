/* What the pipeline's files share and its users do not see. */
#ifndef ES_PIPELINE_INTERNAL_H
#define ES_PIPELINE_INTERNAL_H
#include "pipeline/es_pipeline.h"

/* x (bands × T, row-major) standardised in place as `how` says: over the whole matrix, or per
 * band (ES_STANDARDIZE_NONE: untouched). */
void es_pl_standardize(float *x, int bands, int T, es_standardize how);
/* Frames [start, start + F) of x (bands × T; F = c->frames, or T) into `out` in the model's
 * layout (c->layout), the frames past the end repeated from the window's own (fit
 * pad_repeat) or zero; bands shifted up by `shift` (edge bands repeated). */
void es_pl_window(const es_feature_config *c, const float *x, int bands, int T, int start,
                  int shift, float *out);

/* RFC 4180 records over a whole file's text, in place: fields separated by commas, records by
 * LF or CRLF; a quoted field may hold commas, line breaks and "" for a quote. Leniencies:
 * blanks around an unquoted field are trimmed, text after a closing quote is kept, a lone CR
 * ends a record. */
typedef struct {
    char *at, *end;
    int line; /* of the next record */
} es_pl_csv;
/* The next record's fields (at most max, pointers into the text): 1, 0 at the end, -1 for an
 * unterminated quote. *line gets the record's first line. */
int es_pl_csv_record(es_pl_csv *t, char **f, int max, int *nf, int *line);
/* A whole file, NUL-terminated (malloc'd); *len its bytes, *at 3 past a UTF-8 BOM, else 0.
 * NULL with es_error() naming the file. */
char *es_pl_slurp(const char *csv, size_t *len, size_t *at);
/* The file an item names: ROOT/ITEM (an absolute item as it is), an itemid with the first of
 * .wav, .flac, .ogg that exists (else the plain name, which fails later for that file). */
char *es_pl_resolve(const char *root, const char *item, int is_id);
/* The softmax of n scores into p (max subtracted, sums in double). */
void es_pl_softmax(const float *s, int n, float *p);

#endif
