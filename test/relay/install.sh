#!/bin/bash
# Install the test relay's daemons (Postfix + Dovecot, the Debian 12 packages chatmail relays use)
# and the unprivileged `chatbot` system user that Postfix's pipe(8) runs bot deliveries as.
# Idempotent: exits at once when everything is there. Needs root and the Debian apt mirror.
# Measured on a 2-core machine: 11-26 s the first time (apt: mostly the mirror and dpkg), ~10 ms when done.
set -euo pipefail

PIPE_USER=${CHATBOT_PIPE_USER:-chatbot}

ensure_pipe_user() {
  # pipe(8) refuses to run commands as root (or as the Postfix owner): a dedicated system user.
  if ! id -u "$PIPE_USER" >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      echo "relay-deps: warning: no user $PIPE_USER and not root; test/relay/setup.sh (as root) creates it" >&2
      return 0
    fi
    echo "relay-deps: creating system user $PIPE_USER (runs bot deliveries from Postfix pipe)"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PIPE_USER"
  fi
}

# "Done" = both daemons, a working doveadm, Dovecot's imap + lmtp, its Sieve plugins (IMAPSieve and
# the pipe extension: what `chatbot host setup` wires deploys through) and openssl are there.
if command -v postfix >/dev/null 2>&1 && command -v dovecot >/dev/null 2>&1 \
   && doveadm pw -s PLAIN -p probe >/dev/null 2>&1 \
   && [ -x /usr/lib/dovecot/imap ] && [ -x /usr/lib/dovecot/lmtp ] \
   && [ -f /usr/lib/dovecot/modules/lib95_imap_sieve_plugin.so ] && command -v sievec >/dev/null 2>&1 \
   && command -v openssl >/dev/null 2>&1; then
  ensure_pipe_user
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "relay-deps: postfix/dovecot missing and not root: install postfix dovecot-core dovecot-imapd dovecot-lmtpd dovecot-sieve openssl" >&2
  exit 1
fi

echo "relay-deps: installing postfix + dovecot (apt, ~10-30 s)"
echo "relay-deps: apt-get update"
apt-get update -qq
# "No configuration": the package must not write /etc/postfix/main.cf or try to deliver anything;
# the test relay writes its own config per instance (test/relay/setup.sh).
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string chat.test" | debconf-set-selections
echo "relay-deps: apt-get install postfix dovecot-core dovecot-imapd dovecot-lmtpd dovecot-sieve openssl"
# Debian's postinst tries to start the services and is refused (no init system here): harmless.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  postfix dovecot-core dovecot-imapd dovecot-lmtpd dovecot-sieve openssl </dev/null >/tmp/relay-deps-apt.log 2>&1 \
  || { tail -30 /tmp/relay-deps-apt.log >&2; exit 1; }
ensure_pipe_user
echo "relay-deps: done ($(postconf -d mail_version 2>/dev/null), dovecot $(dovecot --version 2>/dev/null))"
