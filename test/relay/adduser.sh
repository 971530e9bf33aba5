#!/bin/bash
# Add (or replace) a mailbox on the test relay under $BASE: writes its Dovecot passwd-file
# $BASE/server/users/<addr>. Takes effect at once for a new address (Dovecot opens the file on the
# first login); a changed password can take up to a second (Dovecot re-reads a file once a second).
# Usage: BASE=... bash test/relay/adduser.sh addr password
set -euo pipefail
BASE=${BASE:-/tmp/chatbot-relay}
. "$BASE/relay.env"
[ $# = 2 ] || { echo "usage: adduser.sh addr password" >&2; exit 2; }
addr=$1; pw=$2
# The address is a file name and a passwd-file key; Dovecot's auth_username_chars is the same set.
[[ "$addr" =~ ^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+$ ]] || { echo "adduser.sh: bad address $addr" >&2; exit 2; }
case "$pw" in *:*|*$'\n'*|'') echo "adduser.sh: password must be non-empty, without ':' or newlines" >&2; exit 2 ;; esac
U=$BASE/server/users/$addr
local=${addr%@*}; dom=${addr#*@}
# passwd-file: user:password:uid:gid:(gecos):home:(shell):extra_fields — uid, gid and home are
# required, or Dovecot logs "missing userdb info".
echo "${addr}:{PLAIN}${pw}:${VMAIL_UID}:${VMAIL_UID}::${BASE}/mail/${dom}/${local}::" > "$U.tmp"
chown root:dovecot "$U.tmp"; chmod 640 "$U.tmp"
mv "$U.tmp" "$U"
