#!/usr/bin/env bash
# make install PREFIX=… into a temporary prefix: the installed binary runs and finds the
# shipped model in PREFIX/share/earsight, a C program builds against the library with
# `pkg-config --cflags --libs earsight` and runs, the man pages and completion are there;
# make uninstall leaves nothing of ours behind.
. "$(dirname "$0")/clitest.sh"
build=$(dirname "$es")
p=$tmp/prefix
mk() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory -s B="$build" PREFIX="$p" "$@"; }

if mk install >"$tmp/log" 2>&1; then ok "make install PREFIX=…"; else bad "make install" "$(tail -5 "$tmp/log")"; fi
for f in bin/earsight lib/libearsight.a lib/libearsight.so lib/pkgconfig/earsight.pc \
         include/earsight/pipeline/es_pipeline.h include/earsight/nn/ops.def \
         share/earsight/models/bird-detector.onnx share/earsight/examples/labels.csv \
         share/man/man1/earsight.1 share/man/man1/earsight-export.1 \
         share/bash-completion/completions/earsight; do
  [ -e "$p/$f" ] || missing="${missing:-} $f"
done
[ -z "${missing:-}" ] && ok "install: binary, libraries, headers, earsight.pc, model, examples, man, completion" ||
  bad "install: files" "missing$missing"

# the installed binary, elsewhere, without EARSIGHT_MODEL: the model from share/earsight
bird=$p/share/earsight/examples/animals__birds__blackbird.ogg
(cd "$tmp" && env -u EARSIGHT_MODEL "$p/bin/earsight" predict "$bird") >"$tmp/out" 2>&1 &&
  grep -q "bird" "$tmp/out" && ok "installed earsight finds its model in PREFIX/share/earsight" ||
  bad "installed binary" "$(head -3 "$tmp/out")"
EARSIGHT_MODEL=$tmp/none.onnx "$p/bin/earsight" predict "$bird" >/dev/null 2>"$tmp/err"
grep -q "none.onnx" "$tmp/err" && ok "EARSIGHT_MODEL names the default model" || bad "EARSIGHT_MODEL" "$(cat "$tmp/err")"

# a program built with pkg-config against the installed library
cat >"$tmp/prog.c" <<'EOF'
#include "pipeline/es_pipeline.h"
#include <stdio.h>
int main(int argc, char **argv)
{
    es_model m;
    if (es_model_load(&m, argv[1], NULL) != 0) {
        fprintf(stderr, "%s\n", es_error());
        return 1;
    }
    printf("%s %d labels, first %s, mel(1000) %.1f\n", ES_VERSION, m.n_labels,
           es_model_label(&m, 0), es_hz_to_mel(1000, ES_MEL_HTK));
    es_model_free(&m);
    return 0;
}
EOF
san=""; nm -D "$p/lib/libearsight.so" 2>/dev/null | grep -q __asan_init && san="-fsanitize=address,undefined"
if PKG_CONFIG_PATH=$p/lib/pkgconfig cc $san "$tmp/prog.c" -o "$tmp/prog" \
     $(PKG_CONFIG_PATH=$p/lib/pkgconfig pkg-config --cflags --libs earsight) 2>"$tmp/err" &&
   LD_LIBRARY_PATH=$p/lib "$tmp/prog" "$p/share/earsight/models/bird-detector.onnx" >"$tmp/out" 2>&1 &&
   grep -q "labels, first nobird, mel(1000) 1000.0" "$tmp/out"; then
  ok "a C program built with pkg-config --cflags --libs earsight runs"
else bad "pkg-config program" "$(head -3 "$tmp/err" "$tmp/out")"; fi
PKG_CONFIG_PATH=$p/lib/pkgconfig pkg-config --modversion earsight | grep -qx "$("$es" --version | cut -d' ' -f2)" &&
  ok "earsight.pc: the binary's version" || bad "earsight.pc version" ""

# man pages and completion come from the option rows
grep -q 'B \\-\\-shard' "$p/share/man/man1/earsight-export.1" && grep -q '^\.TH EARSIGHT-EXPORT 1' "$p/share/man/man1/earsight-export.1" &&
  man -l "$p/share/man/man1/earsight-export.1" 2>/dev/null | grep -q 'shard K/N' &&
  ok "man page: earsight-export(1) from the option rows" || bad "man page" "$(head -3 "$p/share/man/man1/earsight-export.1")"
words=$(PATH=$p/bin:$PATH bash -c '. '"$p"'/share/bash-completion/completions/earsight
  COMP_WORDS=(earsight export --sh); COMP_CWORD=2; _earsight; echo "${COMPREPLY[*]}"
  COMP_WORDS=(earsight exp); COMP_CWORD=1; _earsight; echo "${COMPREPLY[*]}"')
[ "$words" = "--shard
export" ] && ok "bash completion: verbs and each verb's flags" || bad "completion" "'$words'"

mk uninstall >"$tmp/log" 2>&1
left=$(find "$p" -type f -o -type l)
[ -z "$left" ] && ok "make uninstall removes every file it installed" || bad "uninstall" "$left"
summary
