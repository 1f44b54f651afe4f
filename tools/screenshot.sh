#!/bin/bash
# Headless-Chromium screenshot of a docs page, to look at what a reader sees:
#   tools/screenshot.sh docs/tensor.html /tmp/tensor.png [height] [width]
# (width 1280 by default; 390 is a phone. Give the page as page.html?q=word to see its search results.)
set -e
page=${1%%\?*}; query=${1#"$page"}
ud=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update \
  --disable-sync --disable-quic --user-data-dir="$ud" --hide-scrollbars --virtual-time-budget=8000 \
  --window-size="${4:-1280},${3:-1400}" --screenshot="$2" "file://$(realpath "$page")$query" >/dev/null 2>&1
rm -rf "$ud"
