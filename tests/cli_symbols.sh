#!/usr/bin/env bash
# Every global symbol libearsight.a defines starts with es_ (DESIGN.md §2), in every module;
# the protobuf-c code generated from onnx.proto (onnx__*) and the compiler's reserved names
# (__*, e.g. ASan's __odr_asan.*) are not ours. The library is the one beside $EARSIGHT_BIN
# ($NM_OUTPUT: a saved `nm -g --defined-only` listing instead, to check this check).
source tests/clitest.sh
lib=$(dirname "$es")/libearsight.a
if [ -n "${NM_OUTPUT:-}" ]; then cp "$NM_OUTPUT" "$tmp/nm"
elif ! nm -g --defined-only "$lib" >"$tmp/nm" 2>/dev/null; then bad "nm" "failed on $lib"; summary; exit; fi
# "member.o:" lines open a member; "ADDR TYPE NAME" lines follow: print "MODULE NAME"
for module in base nn audio saliency viz pipeline; do
  for c in $module/*.c; do b=${c##*/}; echo "${b%.c}.o: $module"; done
done >"$tmp/members"
awk 'NR == FNR { mod[$1] = $2; next }
     /\.o:$/ { m = mod[$1]; next }
     NF == 3 && m != "" { print m, $3 }' "$tmp/members" "$tmp/nm" >"$tmp/syms"
dup=$(grep '\.o:$' "$tmp/nm" | sort | uniq -d | tr '\n' ' ')
[ -z "$dup" ] && ok "no two members share a name (ar r would replace one)" || bad "member names" "twice: $dup"
total=$(wc -l <"$tmp/syms")
[ "$total" -gt 300 ] && ok "the library defines $total global symbols of ours" || bad "symbol count" "only $total"
for module in base nn audio saliency viz pipeline; do
  n=$(awk -v m=$module '$1 == m' "$tmp/syms" | wc -l)
  # a named OpenMP critical section is the common symbol .gomp_critical_user_NAME: NAME counts
  stray=$(awk -v m=$module '$1 == m { s = $2; sub(/^\.gomp_critical_user_/, "", s) }
          $1 == m && s !~ /^es_/ && s !~ /^__/ { print $2 }' "$tmp/syms" | head -5 | tr '\n' ' ')
  if [ -n "$stray" ]; then bad "$module: every global symbol starts with es_" "$stray"
  elif [ "$n" -lt 1 ]; then bad "$module: every global symbol starts with es_" "no symbols seen"
  else ok "$module: its $n global symbols start with es_"; fi
done
summary
