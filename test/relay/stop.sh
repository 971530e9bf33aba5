#!/bin/bash
# Stop only the Postfix and Dovecot started from $BASE (by their pid files) and wait until their
# master processes have exited, so $BASE can be deleted afterwards. Safe to run twice.
# Dovecot's master takes ~1.1 s to stop (it waits 100 ms, then 1 s, for its children).
set -uo pipefail
BASE=${BASE:-/tmp/chatbot-relay}
S=$BASE/server
# Exited = no process or a zombie: in containers PID 1 may reap orphans late. Bash built-ins only:
# this runs every 50 ms for each daemon, and a sed | cut per check cost ~0.9 CPU-s per stop.
running() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}
pids=""
[ -f "$BASE/spool/pid/master.pid" ] && pids="$(head -1 "$BASE/spool/pid/master.pid" | tr -d ' ')"
postfix -c "$S/postfix" stop </dev/null >>"$BASE/log/start.log" 2>&1 || true
# SIGTERM is what `doveadm stop` sends; doveadm then waits with kill(pid, 0), which a zombie passes.
dovecot_pid=$(head -1 "$BASE/run/dovecot/master.pid" 2>/dev/null || true)
if [ -n "$dovecot_pid" ] && running "$dovecot_pid" \
   && [ "$(readlink "/proc/$dovecot_pid/exe" 2>/dev/null)" = /usr/sbin/dovecot ]; then
  kill -TERM "$dovecot_pid" 2>/dev/null || true
  pids="$pids $dovecot_pid"
fi
for _ in $(seq 1 100); do
  alive=""
  for pid in $pids; do running "$pid" && alive="$alive $pid"; done
  [ -z "$alive" ] && exit 0
  sleep 0.05
done
echo "relay: still running after 5 s, killing:$alive" >&2
kill -9 $alive 2>/dev/null || true
