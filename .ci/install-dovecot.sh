#!/usr/bin/env bash
# Installs Dovecot's IMAP server from Debian's packages if it is missing. The tests start their
# own private instance on a loopback port (test/support/dovecot.ts); the system service is not used.
set -euo pipefail
if command -v dovecot >/dev/null && command -v doveadm >/dev/null; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq dovecot-imapd >/dev/null || { echo "could not install dovecot-imapd with apt-get" >&2; exit 1; }
# Debian starts the packaged service where it can; the tests do not need it.
(service dovecot stop || true) >/dev/null 2>&1
command -v dovecot >/dev/null || { echo "dovecot is still not on PATH after installing dovecot-imapd" >&2; exit 1; }
