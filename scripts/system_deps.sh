#!/usr/bin/env bash
# Debian packages vidfuse needs outside Python:
#   espeak-ng        offline speech synthesis (narration, English + Chinese via cmn-latn-pinyin)
#   fonts-noto-cjk   a font with CJK glyphs for captions, contact sheets and burned-in subtitles
#   chromium, chromium-driver   the browser test of the web page
# Installs what is missing when run as root; otherwise prints the exact apt-get line.
set -u
PKGS="espeak-ng fonts-noto-cjk chromium chromium-driver"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "vidfuse: installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
    apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends $missing >/dev/null; } || {
    echo "vidfuse: apt-get failed; run: sudo apt-get install -y$missing" >&2; exit 1; }
else
  echo "vidfuse: missing Debian packages. Run: sudo apt-get install -y$missing" >&2
  echo "vidfuse: (continuing; features that need them will say so)" >&2
fi
