/* The gallery page of a batch export: one self-contained HTML file (es_gallery_html). */
#include "pipeline/es_pipeline.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Text in HTML (element content and quoted attributes). */
static void put_text(FILE *f, const char *s)
{
    for (; s && *s; s++)
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
}

/* A relative URL: every byte but unreserved ones and '/' percent-encoded (spaces, '#', '?',
 * '%', UTF-8), so that any file name is a link that works from disk. */
static void put_url(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~/", *p))
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
}

/* An absolute path for `p` (the file need not exist): realpath, else cwd + p. */
static void absolute(const char *p, char *out)
{
    char cwd[PATH_MAX];
    if (realpath(p, out))
        return;
    if (p[0] == '/' || !getcwd(cwd, sizeof cwd) || snprintf(out, PATH_MAX, "%s/%s", cwd, p) >= PATH_MAX)
        snprintf(out, PATH_MAX, "%s", p);
}

/* `to` relative to the folder `from` (both absolute) into out: "../../a/b". */
static void relative(const char *from, const char *to, char *out, size_t cap)
{
    size_t i = 0, common = 0;
    while (from[i] && from[i] == to[i]) {
        if (from[i] == '/')
            common = i;
        i++;
    }
    if (!from[i] && (to[i] == '/' || !to[i]))
        common = i; /* `to` is inside `from` */
    size_t o = 0;
    for (const char *p = from + common; *p; p++)
        if (*p == '/' && o + 4 < cap)
            o += snprintf(out + o, cap - o, "../");
    const char *rest = to + common + (to[common] == '/');
    snprintf(out + o, cap - o, "%s", rest);
    if (!out[0])
        snprintf(out, cap, ".");
}

static const char *style =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1em;background:#fafafa;color:#222}"
    "h1{font-size:1.3em;margin:0 0 .3em}#bar{position:sticky;top:0;background:#fafafa;"
    "padding:.5em 0;border-bottom:1px solid #ddd;z-index:1}#bar label{margin-right:1.2em}"
    "#cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:12px}"
    ".card{background:#fff;border:1px solid #ccc;border-radius:6px;padding:8px;width:400px}"
    ".card.bad{border-color:#c33}.card.dis{border-color:#e90;box-shadow:0 0 0 2px #fc6}"
    ".card img{display:block;max-width:100%}.thumbs{display:flex;gap:4px;margin-top:4px}"
    ".thumbs a{flex:1}.path{font-weight:600;word-break:break-all}.meta{color:#555}"
    ".err{color:#c33}audio{width:100%;margin-top:4px}.p{font-variant-numeric:tabular-nums}";

/* Sorting and filtering run over the cards' data attributes, in the page itself. */
static const char *script =
    "const cards=[...document.querySelectorAll('.card')],box=document.getElementById('cards');"
    "const labels=[...new Set(cards.map(c=>c.dataset.label).filter(x=>x))].sort();"
    "const sel=document.getElementById('label');"
    "for(const l of labels){const o=document.createElement('option');o.value=o.textContent=l;"
    "sel.appendChild(o)}"
    "function show(){const s=document.getElementById('sort').value,"
    "l=sel.value,d=document.getElementById('dis').checked,e=document.getElementById('errs').checked,"
    "q=document.getElementById('q').value.toLowerCase();"
    "const key=c=>parseFloat(c.dataset.p);"
    "const v=cards.slice().sort((a,b)=>s=='path'?a.dataset.path.localeCompare(b.dataset.path):"
    "(isNaN(key(a))-isNaN(key(b)))||(s=='asc'?key(a)-key(b):key(b)-key(a)));"
    "let n=0;for(const c of v){const ok=(!l||c.dataset.label==l||(l=='-'&&!c.dataset.label))&&"
    "(!d||c.classList.contains('dis'))&&(!e||c.classList.contains('bad'))&&"
    "(!q||c.dataset.path.toLowerCase().includes(q));c.style.display=ok?'':'none';n+=ok;"
    "box.appendChild(c)}document.getElementById('n').textContent=n+' of '+cards.length}"
    "for(const id of ['sort','label','dis','errs','q'])"
    "document.getElementById(id).addEventListener('input',show);show();";

static void controls(FILE *f, const char *title, int n)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
    put_text(f, title);
    fprintf(f, "</title>\n<style>%s</style></head><body>\n<h1>", style);
    put_text(f, title);
    fprintf(f, "</h1>\n<div id=\"bar\"><label>sort <select id=\"sort\">"
               "<option value=\"asc\">P, lowest first</option>"
               "<option value=\"desc\">P, highest first</option>"
               "<option value=\"path\">path</option></select></label>"
               "<label>label <select id=\"label\"><option value=\"\">any</option>"
               "<option value=\"-\">(none)</option></select></label>"
               "<label><input type=\"checkbox\" id=\"dis\"> disagrees with its label</label>"
               "<label><input type=\"checkbox\" id=\"errs\"> failed</label>"
               "<label>path <input id=\"q\" size=\"24\"></label> <span id=\"n\">%d</span></div>\n"
               "<div id=\"cards\">\n", n);
}

/* One picture: the thumbnail linking the full PNG. */
static void picture(FILE *f, const char *dir, const char *stem, const char *what)
{
    char rel[PATH_MAX + 256];
    snprintf(rel, sizeof rel, "%sclips/%s.%s.png", dir, stem, what);
    fputs("<a href=\"", f), put_url(f, rel), fputs("\" title=\"", f), put_text(f, what);
    fputs("\"><img loading=\"lazy\" alt=\"", f), put_text(f, what), fputs("\" src=\"", f);
    put_url(f, rel), fputs("\"></a>", f);
}

static void card(FILE *f, const es_table *t, int i, const char *dir, const char *page_dir)
{
    const char *path = es_table_get(t, i, "path"), *pred = es_table_get(t, i, "predicted");
    const char *p = es_table_get(t, i, "p"), *label = es_table_get(t, i, "label");
    const char *status = es_table_get(t, i, "status");
    char stem[ES_STEM_MAX], abs[PATH_MAX], rel[PATH_MAX];
    int ok = status && strcmp(status, "ok") == 0;
    int dis = ok && label && *label && pred && strcmp(label, pred) != 0;
    es_export_stem(path ? path : "", stem);
    fprintf(f, "<div class=\"card%s%s\" data-p=\"", ok ? "" : " bad", dis ? " dis" : "");
    put_text(f, ok && p ? p : "nan"), fputs("\" data-label=\"", f), put_text(f, label);
    fputs("\" data-path=\"", f), put_text(f, path), fputs("\">\n", f);
    if (ok) {
        picture(f, dir, stem, "spec");
        fputs("<div class=\"thumbs\">", f);
        for (int j = 0; j < t->cols; j++)
            if (strncmp(t->col[j], "span_", 5) == 0)
                picture(f, dir, stem, t->col[j] + 5);
        fputs("</div>\n", f);
    }
    fputs("<div class=\"path\">", f), put_text(f, path), fputs("</div><div class=\"meta\">", f);
    if (ok) {
        fputs("<span class=\"p\">", f), put_text(f, pred);
        fprintf(f, " P %.4f</span>", p ? atof(p) : NAN); /* the summary has 6 decimals */
    } else {
        fputs("<span class=\"err\">", f), put_text(f, status), fputs("</span>", f);
    }
    if (label && *label)
        fputs(" · label ", f), put_text(f, label);
    fputs("</div>\n", f);
    absolute(path ? path : "", abs);
    relative(page_dir, abs, rel, sizeof rel);
    fputs("<audio controls preload=\"none\" src=\"", f), put_url(f, rel), fputs("\"></audio>\n", f);
    const char *heard = es_table_get(t, i, "heard");
    if (ok && heard && *heard) { /* export --sonify: what the network heard */
        snprintf(rel, sizeof rel, "%sclips/%s.heard.wav", dir, stem);
        fputs("<div class=\"meta\">what the network heard (", f), put_text(f, heard);
        fputs(")</div><audio controls preload=\"none\" src=\"", f), put_url(f, rel);
        fputs("\"></audio>\n", f);
    }
    fputs("</div>\n", f);
}

int es_gallery_html(const char *html, const es_table *t, const char *const *dirs,
                    const char *title)
{
    char page[PATH_MAX], page_dir[PATH_MAX], dabs[PATH_MAX], drel[PATH_MAX + 1];
    const char *slash = strrchr(html, '/');
    snprintf(page, sizeof page, "%.*s", slash ? (int)(slash - html) : 1, slash ? html : ".");
    absolute(page, page_dir);
    if (es_table_find(t, "path") < 0)
        return es_fail("%s: the summary has no path column", html);
    es_atomic a;
    if (es_atomic_open(&a, html) != 0)
        return -1;
    controls(a.f, title, t->n);
    for (int i = 0; i < t->n; i++) {
        drel[0] = 0;
        if (dirs && dirs[i]) { /* another export's folder: its pictures from here */
            absolute(dirs[i], dabs);
            relative(page_dir, dabs, drel, sizeof drel - 1);
            strcat(drel, strcmp(drel, ".") ? "/" : "");
            if (!strcmp(drel, "."))
                drel[0] = 0;
        }
        card(a.f, t, i, drel, page_dir);
    }
    fprintf(a.f, "</div>\n<script>%s</script>\n</body></html>\n", script);
    return es_atomic_commit(&a);
}
