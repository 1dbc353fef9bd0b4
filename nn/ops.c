/* The op table, one entry per row of nn/ops.def, and the hooks several ops share. */
#include "nn/graph.h"
#include "nn/onnx_hooks.h"
#include <string.h>

const es_op es_ops[ES_OP_COUNT] = {
#define ES_OP(id, fam, onnx, lo, hi, at, im, ex, ini)                                         \
    [ES_OP_##id] = {onnx, lo, hi, es_##fam##_shape, es_##fam##_forward, es_##fam##_backward,   \
                    &es_##at##_defaults, es_##im##_import, es_##ex##_export, es_##ini##_init},
#include "nn/ops.def"
#undef ES_OP
};

const es_attrs es_none_defaults;
const es_attrs es_axis_defaults = {.axis = {.axis = 1}};

/* One data input, the attributes' defaults: Relu, Sigmoid, Identity, GlobalAveragePool. */
int es_unary_import(es_importer *m, const Onnx__NodeProto *nd, es_op_type op)
{
    return es_import_one(m, nd, op, NULL);
}

int es_none_export(es_exporter *x, const es_graph *g, const es_node *n) { return 0; }

int es_axis_export(es_exporter *x, const es_graph *g, const es_node *n)
{
    es_export_int(x, "axis", n->a.axis.axis);
    return 0;
}

void es_none_init(es_graph *g, es_node *n, es_init kind) {}

void es_op_defaults(es_op_type op, es_attrs *a) { *a = *es_ops[op].defaults; }

int es_op_find(const char *name)
{
    for (int i = 0; i < ES_OP_COUNT; i++)
        if (strcmp(es_ops[i].name, name) == 0)
            return i;
    return -1;
}

/* The ops whose backward writes every element of an input's gradient and honours
 * es_pass.fresh: the clearing of that gradient is skipped (a DenseNet's backward spent 3% of
 * its time clearing buffers the next op overwrote whole). */
int es_op_stores_grad(es_op_type op, int k)
{
    return op == ES_OP_CONCAT || ((op == ES_OP_CONV || op == ES_OP_BATCHNORM) && k == 0);
}

const char *es_op_name(es_op_type op) { return op >= 0 && op < ES_OP_COUNT ? es_ops[op].name : "?"; }
