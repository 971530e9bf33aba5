#!/bin/bash
# Route a bot address on the test relay to the host instead of Dovecot: adds "addr service:" to
# Postfix's transport_maps and, when a command is given, a pipe(8) service running that command
# (else the relay's default "chatbot" service, CHATBOT_DELIVER_CMD at setup); or, given
# lmtp:unix:/abs/socket, "addr lmtp:unix:/abs/socket" (Postfix's lmtp(8) client, running as postfix,
# delivers to the host's LMTP socket). Then reloads Postfix and waits until the daemons that read
# the old table have exited, so the next mail uses the route.
# Usage: BASE=... bash test/relay/route.sh addr [/abs/command args... | lmtp:unix:/abs/socket]
set -euo pipefail
BASE=${BASE:-/tmp/chatbot-relay}
. "$BASE/relay.env"
[ $# -ge 1 ] || { echo "usage: route.sh addr [/abs/command args... | lmtp:unix:/abs/socket]" >&2; exit 2; }
addr=$1; shift
case "$addr" in *@*) ;; *) echo "route.sh: not an address: $addr" >&2; exit 2 ;; esac
P=$BASE/server/postfix

service=chatbot
transport=""
if [ $# -gt 0 ] && [ "${1#lmtp:}" != "$1" ]; then
  case "$1" in lmtp:unix:/*) ;; *) echo "route.sh: an LMTP route must be lmtp:unix:/absolute/socket: $1" >&2; exit 2 ;; esac
  [ $# -eq 1 ] || { echo "route.sh: an LMTP route takes no further arguments" >&2; exit 2; }
  case "$1" in *[[:space:]]*) echo "route.sh: the socket path must not contain spaces" >&2; exit 2 ;; esac
  transport=$1
elif [ $# -gt 0 ]; then
  case "$1" in /*) ;; *) echo "route.sh: the command must start with an absolute path: $1" >&2; exit 2 ;; esac
  for arg in "$@"; do
    case "$arg" in *[[:space:]]*|'') echo "route.sh: arguments must be non-empty, without spaces (master.cf argv)" >&2; exit 2 ;; esac
  done
  runuser -u "$PIPE_USER" -- test -x "$1" || { echo "route.sh: $PIPE_USER cannot execute $1" >&2; exit 2; }
  # One pipe service per distinct command, named after a hash of it.
  service=chatbot-$(printf '%s\n' "$*" | sha256sum | cut -c1-10)
  if ! grep -q "^$service " "$P/master.cf"; then
    printf '%s unix - n n - - pipe\n  flags=Rq user=%s argv=%s ${recipient}\n' "$service" "$PIPE_USER" "$*" >> "$P/master.cf"
    postconf -c "$P" -e "${service}_destination_recipient_limit = 1"
  fi
fi

{ awk -v addr="$addr" '$1 != addr' "$P/transport"
  printf '%s\t%s\n' "$addr" "${transport:-$service:}"
} > "$P/transport.tmp"
mv "$P/transport.tmp" "$P/transport"
touch -d "@$(( $(date +%s) - 10 ))" "$P/main.cf" "$P/master.cf" "$P/transport"

# texthash tables are read when a daemon starts. After "postfix reload" idle daemons exit and new
# ones read the new table; wait for the old address resolvers and queue manager to be gone.
master=$(head -1 "$BASE/spool/pid/master.pid" 2>/dev/null | tr -d ' ' || true)
old=""
if [ -n "$master" ]; then
  old=$(pgrep -P "$master" -f '^(trivial-rewrite|qmgr|cleanup)( |$)' | tr '\n' ' ' || true)
fi
postfix -c "$P" reload </dev/null >>"$BASE/log/start.log" 2>&1
for _ in $(seq 1 50); do
  alive=""
  for pid in $old; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
  [ -z "$alive" ] && break
  sleep 0.1
done
[ -z "${alive:-}" ] || echo "route.sh: warning: old Postfix daemons still running:$alive" >&2
echo "relay: $addr -> ${transport:-$service}"
