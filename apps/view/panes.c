/* The panes besides the saliency figure: a layer's activations for the window under the view's
 * centre, and the filters that made them — drawn by the same viz functions (and with the same
 * titles and axes) as the maps and weights verbs, so a pane is their PNG's pixels. Tab steps
 * through the panes, [ and ] through the layers (every node output with spatial maps). */
#include "apps/view/view.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const view_pane_names[VIEW_PANES] = {"saliency", "activations", "filters", "sanity"};

/* The layers a pane can show: node outputs of rank 3 or 4 (N, C, [H,] W), in graph order. */
int view_panes_init(view *v)
{
    const es_graph *g = v->in.m.g;
    free(v->layers);
    v->n_layers = 0;
    if (!(v->layers = malloc((size_t)es_graph_n_nodes(g) * sizeof *v->layers)))
        return es_fail("out of memory");
    int dims[ES_MAX_DIMS], def = es_sal_default_layer(g);
    for (int i = 0; i < es_graph_n_nodes(g); i++) {
        const int *out;
        int n = es_node_outputs(g, i, &out), nd = n > 0 ? es_tensor_shape(g, out[0], dims) : 0;
        if (nd == 3 || nd == 4) {
            if (out[0] == def && v->layer < 0)
                v->layer = v->n_layers; /* Grad-CAM's layer first */
            v->layers[v->n_layers++] = out[0];
        }
    }
    if (v->layer < 0 || v->layer >= v->n_layers)
        v->layer = 0;
    return 0;
}

/* The node that made tensor t's values, or the nearest one before it with weights (a ReLU's
 * or batch norm's filters are the convolution's before them). -1 when there is none. */
static int weights_node(const es_graph *g, int t)
{
    for (int i = es_node_producing(g, t); i >= 0; i--)
        if (es_node_weights(g, i) >= 0)
            return i;
    return -1;
}

static int draw_activations(view *v, es_canvas *cv, int w, int h)
{
    int t = v->layers[v->layer], k = view_window_at(v, v->c0 + v->span / 2);
    es_graph *g = v->in.m.g;
    es_array am;
    if (es_clip_layer_maps(&v->in, t, k, &am) != 0)
        return -1;
    float *maps = am.data;
    int c = am.dims[0], rows = am.dims[1], cols = am.dims[2];
    char title[512];
    snprintf(title, sizeof title, "%s — %s: %d maps of %d × %d", v->file, es_tensor_name(g, t), c,
             rows, cols); /* the maps verb's */
    es_grid_plot p = {maps, c, rows, cols, {0}, {0}, NULL, 0, title};
    es_clip_axes(&v->in, k, &p.x, &p.y, rows, cols);
    es_style st = {v->font};
    int rc = es_canvas_init(cv, w, h, ES_RGBA(255, 255, 255, 255)) != 0
                 ? -1 : es_plot_activations(cv, (es_rect){0, 0, w, h}, &st, &p);
    snprintf(v->pane_info, sizeof v->pane_info, "layer %d/%d %s: %d × %d × %d, window %d",
             v->layer + 1, v->n_layers, es_tensor_name(g, t), c, rows, cols, k);
    free(maps);
    return rc;
}

static int draw_filters(view *v, es_canvas *cv, int w, int h)
{
    es_graph *g = v->in.m.g;
    int t = v->layers[v->layer], node = weights_node(g, t);
    if (node < 0)
        return es_fail("no weights on the way to %s", es_tensor_name(g, t));
    int wt = es_node_weights(g, node), dims[ES_MAX_DIMS], nd = es_tensor_shape(g, wt, dims);
    char title[512];
    snprintf(title, sizeof title, "%s: %s %s", es_node_name(g, node), es_op_name(es_node_op(g, node)),
             es_tensor_name(g, wt)); /* the weights verb's */
    es_style st = {v->font};
    char shape[64] = "";
    for (int i = 0, n = 0; i < nd && n < (int)sizeof shape; i++)
        n += snprintf(shape + n, sizeof shape - n, "%s%d", i ? " × " : "", dims[i]);
    snprintf(v->pane_info, sizeof v->pane_info, "layer %d/%d %s: the filters of %s, %s",
             v->layer + 1, v->n_layers, es_tensor_name(g, t), es_node_name(g, node), shape);
    if (es_canvas_init(cv, w, h, ES_RGBA(255, 255, 255, 255)) != 0)
        return -1;
    return es_plot_weights(cv, (es_rect){0, 0, w, h}, &st, es_tensor_data(g, wt), dims, nd, -1,
                           NULL, title);
}

/* The sanity strip of the current method and class, as `earsight sanity --png` draws it at
 * this size: computed on the worker first (slow: a map for every layer). 1 while computed. */
static int draw_sanity(view *v, es_canvas *cv, int w, int h)
{
    const view_sanity *s = view_sanity_current(v);
    if (!s)
        return 1;
    if (s->failed)
        return es_fail("%s", s->why);
    snprintf(v->pane_info, sizeof v->pane_info, "sanity checks of %s, class %d: %d layers "
             "randomised from the top, one after another", es_sal_method_name(v->method),
             s->s.info.target, s->s.n);
    return es_sanity_strip(&s->s, &v->in, v->method, w, h, v->fo.cmap, v->fo.title, v->font, cv);
}

int view_pane_render(view *v, int w, int h)
{
    if (v->pane == VIEW_PANE_SANITY) {
        int rc = draw_sanity(v, &v->fig, w, h);
        if (rc < 0)
            snprintf(v->fig_msg, sizeof v->fig_msg, "%s", es_error());
        v->figl.stale = 1, v->area = (es_rect){0};
        return 0;
    }
    if (v->worker) /* the worker uses the graph: the pane waits for it */
        return snprintf(v->fig_msg, sizeof v->fig_msg, "%s: waiting for the map being computed…",
                        view_pane_names[v->pane]), 0;
    if (v->n_layers == 0)
        return snprintf(v->fig_msg, sizeof v->fig_msg, "the model has no layer with spatial maps"), 0;
    int rc = v->pane == 1 ? draw_activations(v, &v->fig, w, h) : draw_filters(v, &v->fig, w, h);
    if (rc != 0) {
        es_canvas_free(&v->fig);
        snprintf(v->fig_msg, sizeof v->fig_msg, "%s", es_error());
    }
    v->figl.stale = 1, v->area = (es_rect){0};
    return 0;
}

void view_pane_key(view *v, SDL_Keycode k, int shift)
{
    if (k == SDLK_TAB)
        v->pane = (v->pane + (shift ? VIEW_PANES - 1 : 1)) % VIEW_PANES;
    else if (v->n_layers && k == SDLK_RIGHTBRACKET)
        v->layer = (v->layer + 1) % v->n_layers;
    else if (v->n_layers && k == SDLK_LEFTBRACKET)
        v->layer = (v->layer + v->n_layers - 1) % v->n_layers;
    v->pane_info[0] = 0, v->fig_dirty = 1;
}
