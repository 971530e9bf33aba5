#!/bin/bash
# Start the test relay under $BASE (Dovecot, then Postfix; no systemd) and wait until its IMAP and
# submission ports accept connections. Daemons log under $BASE/log. Run setup.sh first.
set -euo pipefail
BASE=${BASE:-/tmp/chatbot-relay}
. "$BASE/relay.env"
S=$BASE/server
# The daemons must not inherit our stdout/stderr: they would keep a caller's pipe open forever.
dovecot -c "$S/dovecot.conf" </dev/null >>"$BASE/log/start.log" 2>&1
postfix -c "$S/postfix" start </dev/null >>"$BASE/log/start.log" 2>&1
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 100); do
  if port_open "$IMAP_PORT" && port_open "$SUBM_PORT" && port_open "$SMTP_PORT"; then
    echo "relay: $DOMAIN up (imap $IMAP_PORT, submission $SUBM_PORT, smtp $SMTP_PORT; logs in $BASE/log)"
    exit 0
  fi
  sleep 0.05
done
echo "relay: ports did not open within 5 s; see $BASE/log" >&2
tail -20 "$BASE/log/start.log" "$BASE/log/dovecot.log" "$BASE/log/postfix.log" >&2 2>/dev/null || true
exit 1
