#!/bin/bash
# Headless-Chromium screenshot of a docs page, to look at what a reader sees: tools/screenshot.sh docs/tensor.html /tmp/tensor.png [height]
# usage: shot.sh page.html out.png [height]
ud=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync --disable-quic --user-data-dir=$ud --hide-scrollbars --virtual-time-budget=8000 --window-size=1200,${3:-1400} --screenshot=$2 file://$(realpath $1) >/dev/null 2>&1
rm -rf $ud
