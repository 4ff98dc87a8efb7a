#!/usr/bin/env bash
# Installs Dovecot's IMAP server (Debian package dovecot-imapd) if `dovecot` or `doveadm` is
# missing. Idempotent. The tests start their own private instance on a loopback port
# (consumer/dev/dovecot.ts, test/support/dovecot.ts); the system service is not used.
set -euo pipefail
if command -v dovecot >/dev/null && command -v doveadm >/dev/null; then exit 0; fi
fail() { echo "install-dovecot: $*" >&2; exit 1; }
command -v apt-get >/dev/null || fail "dovecot is not installed and apt-get is not available: install dovecot-imapd (Dovecot 2.3) by hand"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || fail "apt-get update failed (network? permissions? run as root)"
apt-get install -y -qq dovecot-imapd >/dev/null || fail "apt-get install dovecot-imapd failed"
# Debian starts the packaged service where it can; the tests do not need it.
(service dovecot stop || true) >/dev/null 2>&1
command -v dovecot >/dev/null && command -v doveadm >/dev/null || fail "dovecot/doveadm still not on PATH after installing dovecot-imapd"
echo "install-dovecot: $(dovecot --version)"
