/* earsight info -m MODEL [--json] — what is inside a model. */
#include "apps/cli.h"
#include "apps/opt.h"
#include "pipeline/es_pipeline.h"
#include "saliency/es_saliency.h"
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const opt_cmd cmd = {
    "info", "usage: earsight info [-m MODEL] [--input FILE] [--json]",
    "Shows the model's inputs and outputs with their shapes, every node (name, operator,\n"
    "output tensor and its shape — the names `--layer` takes), the number of trainable\n"
    "parameters, and the feature settings and class labels stored in its metadata.\n"};

static void shape_text(char *buf, size_t cap, const es_graph *g, int t)
{
    int d[ES_MAX_DIMS], n = es_tensor_shape(g, t, d);
    size_t o = snprintf(buf, cap, "(");
    for (int k = 0; k < n && o < cap; k++)
        o += snprintf(buf + o, cap - o, "%s%d", k ? ", " : "", d[k]);
    if (o < cap)
        snprintf(buf + o, cap - o, ")");
}

static cJSON *shape_json(const es_graph *g, int t)
{
    int d[ES_MAX_DIMS], n = es_tensor_shape(g, t, d);
    return cJSON_CreateIntArray(d, n);
}

static size_t count_kind(const es_graph *g, es_tensor_kind kind)
{
    size_t n = 0;
    for (int t = 0; t < es_graph_n_tensors(g); t++)
        if (es_tensor_kind_of(g, t) == kind)
            n += es_tensor_size(g, t);
    return n;
}

static void thousands(char *buf, size_t cap, size_t v)
{
    char raw[32];
    int n = snprintf(raw, sizeof raw, "%zu", v), o = 0;
    for (int i = 0; i < n && o + 2 < (int)cap; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = 0;
}

static void tensor_list_json(cJSON *parent, const char *key, const es_graph *g, const int *ids, int n)
{
    cJSON *arr = cJSON_AddArrayToObject(parent, key);
    for (int k = 0; k < n; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", es_tensor_name(g, ids[k]));
        cJSON_AddItemToObject(o, "shape", shape_json(g, ids[k]));
        cJSON_AddItemToArray(arr, o);
    }
}

static void print_json(const es_model *m)
{
    const es_graph *g = m->g;
    int ids[64], n_out = es_graph_outputs(g, ids, 64);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", m->path);
    tensor_list_json(j, "inputs", g, &m->input, 1);
    tensor_list_json(j, "outputs", g, ids, n_out);
    cJSON *nodes = cJSON_AddArrayToObject(j, "nodes");
    for (int k = 0; k < es_graph_n_nodes(g); k++) {
        const int *out;
        es_node_outputs(g, k, &out);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", es_node_name(g, k));
        cJSON_AddStringToObject(o, "op", es_op_name(es_node_op(g, k)));
        cJSON_AddStringToObject(o, "output", es_tensor_name(g, out[0]));
        cJSON_AddItemToObject(o, "shape", shape_json(g, out[0]));
        cJSON_AddItemToArray(nodes, o);
    }
    cJSON_AddNumberToObject(j, "parameters", (double)es_graph_n_params(g));
    cJSON_AddNumberToObject(j, "state", (double)count_kind(g, ES_T_STATE));
    const char *f = es_meta_get(m->meta, ES_META_FEATURES);
    cJSON *fj = f ? cJSON_Parse(f) : NULL;
    cJSON_AddItemToObject(j, "features", fj ? fj : f ? cJSON_CreateString(f) : cJSON_CreateNull());
    if (m->labels) {
        cJSON *l = cJSON_AddArrayToObject(j, "labels");
        for (int k = 0; k < m->n_labels; k++)
            cJSON_AddItemToArray(l, cJSON_CreateString(m->labels[k]));
    } else {
        cJSON_AddNullToObject(j, "labels");
    }
    int cam = es_sal_default_layer(g), stop = es_sal_default_layer_stop(g);
    if (cam >= 0)
        cJSON_AddStringToObject(j, "gradcam_layer", es_tensor_name(g, cam));
    else
        cJSON_AddNullToObject(j, "gradcam_layer");
    if (stop >= 0) /* why there: the first step that ends the maps */
        cJSON_AddStringToObject(j, "gradcam_before", es_node_name(g, stop));
    else
        cJSON_AddNullToObject(j, "gradcam_before");
    cli_print_json(j);
}

static void print_text(const es_model *m)
{
    const es_graph *g = m->g;
    char sh[128], num[40];
    int ids[64], n_out = es_graph_outputs(g, ids, 64);
    printf("model       %s\n", m->path);
    shape_text(sh, sizeof sh, g, m->input);
    printf("input       %s %s\n", es_tensor_name(g, m->input), sh);
    for (int k = 0; k < n_out; k++) { /* ONNX's order; --model-output's choice first */
        shape_text(sh, sizeof sh, g, ids[k]);
        printf("output      %s %s%s\n", es_tensor_name(g, ids[k]), sh,
               k == 0 && n_out > 1 ? " (predicted and explained; --model-output NAME: another)" : "");
    }
    printf("nodes       %d\n", es_graph_n_nodes(g));
    printf("    %-4s %-36s %-20s %-36s %s\n", "#", "name", "op", "output", "shape");
    for (int k = 0; k < es_graph_n_nodes(g); k++) {
        const int *out;
        es_node_outputs(g, k, &out);
        shape_text(sh, sizeof sh, g, out[0]);
        printf("    %-4d %-36s %-20s %-36s %s\n", k, es_node_name(g, k), es_op_name(es_node_op(g, k)),
               es_tensor_name(g, out[0]), sh);
    }
    thousands(num, sizeof num, es_graph_n_params(g));
    printf("parameters  %s", num);
    size_t st = count_kind(g, ES_T_STATE);
    if (st) {
        thousands(num, sizeof num, st);
        printf(" (and %s running statistics / constants)", num);
    }
    printf("\n");
    int cam = es_sal_default_layer(g), stop = es_sal_default_layer_stop(g);
    if (cam < 0)
        printf("gradcam     (no layer with a time or space axis on the way to the scores)\n");
    else if (stop >= 0)
        printf("gradcam     %s: the last map with a time or space axis, before they end at %s"
               " (%s)\n", es_tensor_name(g, cam), es_node_name(g, stop), es_op_name(es_node_op(g, stop)));
    else
        printf("gradcam     %s: the last map with a time or space axis before the scores\n",
               es_tensor_name(g, cam));
    const char *f = es_meta_get(m->meta, ES_META_FEATURES), *l = es_meta_get(m->meta, ES_META_LABELS);
    printf("features    %s\n", f ? f : "(none: give inputs as .npy, or `earsight annotate`)");
    printf("labels      %s\n", l ? l : "(none)");
}

int cmd_info(int argc, char **argv)
{
    const char *model = NULL, *input = NULL;
    int json = 0;
    const opt rows[] = {
        OPT_MODEL(&model),
        OPT_INPUT(&input, "shape the model for this input (.npy or sound, as predict takes it):\n"
                          "needed when the model has symbolic dims other than the batch"),
        OPT_JSON(&json, "the same as one JSON object on stdout"),
        OPT_OPERAND(&model, "model"), /* `earsight info MODEL` reads as well */
        OPT_END};
    opt_parse(&cmd, rows, argc, argv);
    es_model m;
    es_array x;
    int had_batch;
    if (input ? es_model_load_for(&m, model, &opt_model, input, &x, &had_batch) != 0
              : es_model_load(&m, model, &opt_model) != 0)
        return cli_lib_fail();
    if (input)
        es_array_free(&x);
    if (json)
        print_json(&m);
    else
        print_text(&m);
    es_model_free(&m);
    return 0;
}
