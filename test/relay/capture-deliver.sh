#!/bin/bash
# Default bot delivery command for the test relay: Postfix pipe(8) runs it as the pipe user with the
# message on stdin. Writes it to <dir>/<recipient>/<timestamp>-<random>.eml and exits 0 (delivered).
# Usage (from master.cf): capture-deliver.sh <dir> <recipient>
set -euo pipefail
export PATH=/usr/bin:/bin # pipe(8) passes almost no environment (export_environment)
dir=$1; recipient=$2
case "$recipient" in */*|.*|'') echo "capture-deliver: bad recipient" >&2; exit 65 ;; esac # EX_DATAERR
mkdir -p "$dir/$recipient"
name="$(date +%s%N)-$RANDOM$RANDOM"
# Write to a temp name first so a reader never sees a half-written file.
cat > "$dir/$recipient/.$name.tmp"
mv "$dir/$recipient/.$name.tmp" "$dir/$recipient/$name.eml"
