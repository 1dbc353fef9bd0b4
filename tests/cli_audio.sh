#!/usr/bin/env bash
# Sound files as people have them, from the command line: an Ogg without its last page, with
# junk after it, chained (`cat a.ogg b.ogg`); an MP3 without a Xing/LAME tag (its length is
# only known by decoding); a sound through a named pipe and on standard input. And outputs
# that must never be clobbered: a device, a symbolic link, a folder.
# Run from the repository root; the binary is $EARSIGHT_BIN (default build/earsight).
source tests/clitest.sh
bird=assets/examples/animals__birds__blackbird.ogg
duck=assets/examples/animals__birds__duck.ogg

# json_frames — the first "frames" of --json on stdin (the sound's; the config has one too)
json_frames() { grep -o '"frames": [0-9]*' | head -1 | grep -o '[0-9]*$'; }

# frames NAME WANT FILE… — `features --json` of FILE has WANT frames
frames() {
  local name=$1 want=$2; shift 2
  "$es" features "$@" -o "$tmp/f.npy" --json >"$tmp/out" 2>"$tmp/err"
  local got
  got=$(json_frames <"$tmp/out")
  if [ "$got" = "$want" ]; then ok "$name"; else bad "$name" "frames '$got', wanted $want: $(cat "$tmp/err")"; fi
}

whole=$("$es" features "$bird" -o "$tmp/f.npy" --json | json_frames)
[ -n "$whole" ] && ok "the blackbird has frames ($whole)" || bad "the blackbird" "no frames"

# an Ogg cut at its last page: everything before it is read (torchaudio reads 313216 of its
# 348914 samples at 44.1 kHz: 994 frames of hop 315 at 22.05 kHz)
size=$(stat -c %s "$bird")
last=$(grep -abo OggS "$bird" | tail -1 | cut -d: -f1)
head -c "$last" "$bird" >"$tmp/noeos.ogg"
frames "an Ogg without its last page is read as far as it goes" 498 "$tmp/noeos.ogg"
cp "$bird" "$tmp/junk.ogg"; head -c 3000 /dev/urandom >>"$tmp/junk.ogg"
frames "junk after the last page is passed over" "$whole" "$tmp/junk.ogg"
cat "$bird" "$bird" >"$tmp/chain.ogg"
"$es" features "$tmp/chain.ogg" -o "$tmp/f.npy" --json >"$tmp/out" 2>"$tmp/err"
got=$(json_frames <"$tmp/out")
[ "$got" -gt $((2 * whole - 3)) ] 2>/dev/null && ok "a chained Ogg is read link after link" \
  || bad "a chained Ogg" "frames '$got', wanted about $((2 * whole)): $(cat "$tmp/err")"

# through a pipe and on standard input: the same frames
mkfifo "$tmp/fifo"
cat "$bird" >"$tmp/fifo" &
frames "a named pipe" "$whole" "$tmp/fifo"
wait
cat "$bird" | frames "standard input (/dev/stdin)" "$whole" /dev/stdin
"$es" plot /dev/stdin -o "$tmp/p.png" <"$duck" >/dev/null 2>"$tmp/err" && [ -s "$tmp/p.png" ] \
  && ok "plot from standard input" || bad "plot from standard input" "$(cat "$tmp/err")"

# an MP3 whose encoder wrote no Xing/LAME tag: libsndfile's length is an estimate; the file
# is read to its end (encoder delay and padding included, as FFmpeg gives them)
if command -v lame >/dev/null; then
  "$es" features "$duck" --sr 22050 -o "$tmp/d.npy" >/dev/null
  sox_wav="$tmp/duck.wav"
  "$es" sonify --input "$duck" --keep 1 -o "$sox_wav" >/dev/null 2>&1 || true
  if [ -s "$sox_wav" ]; then
    lame --quiet -t -b 128 "$sox_wav" "$tmp/notag.mp3"
    lame --quiet -b 128 "$sox_wav" "$tmp/tag.mp3"
    expect "an MP3 without a Xing tag" 0 '"frames"' "$es" features "$tmp/notag.mp3" --json -o "$tmp/m.npy"
    expect "an MP3 with one" 0 '"frames"' "$es" features "$tmp/tag.mp3" --json -o "$tmp/m.npy"
  else
    bad "an MP3 without a Xing tag" "could not make the WAV to encode"
  fi
else
  bad "an MP3 without a Xing tag" "lame is missing (scripts/deps.sh installs it)"
fi

# outputs that are not regular files are refused before any work (bad usage: exit 2), and left as
# they were
expect "-o /dev/null is refused" 2 "/dev/null: not a regular file" "$es" features "$bird" -o /dev/null
[ -c /dev/null ] && ok "… /dev/null is still a device" || bad "… /dev/null" "replaced"
echo keep >"$tmp/target.npy"; ln -s target.npy "$tmp/link.npy"
expect "-o a symbolic link is refused" 2 "link.npy: is a symbolic link" "$es" features "$bird" -o "$tmp/link.npy"
[ -L "$tmp/link.npy" ] && [ "$(cat "$tmp/target.npy")" = keep ] && ok "… the link and its target are untouched" \
  || bad "… the link" "replaced"
mkdir "$tmp/dir.npy"
expect "-o a folder is refused" 2 "dir.npy: is a folder" "$es" features "$bird" -o "$tmp/dir.npy"
[ -z "$(ls "$tmp" | grep '\.tmp\.')" ] && ok "… no temporary file left" || bad "… temporaries" "$(ls "$tmp")"
summary
