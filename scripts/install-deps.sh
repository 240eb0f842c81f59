#!/usr/bin/env bash
# Installs everything Rampart needs to build, test and benchmark, from Debian 12's archive.
# Idempotent: packages already present are skipped by apt. Runs as root or through sudo.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev
  libboost-dev libssl-dev libspdlog-dev libfmt-dev libexpected-dev
  libsqlite3-dev sqlite3 libargon2-dev libgmime-3.0-dev libtomlplusplus-dev libexpat1-dev
  libgtest-dev libgmock-dev
  liboath-dev libldap-dev libnghttp2-dev
)
# Real peers the integration tests and benchmarks start on loopback.
test_pkgs=(
  openssl swaks postfix dovecot-core dovecot-lmtpd python3 procps iproute2
  libwbxml2-utils
  slapd ldap-utils freeradius freeradius-utils oathtool
  slowhttptest testssl.sh haproxy nginx-light nghttp2-client
  libbcpkix-java libbcprov-java default-jdk-headless gnutls-bin
  gpgsm softhsm2 libengine-pkcs11-openssl opensc
)

want=("${build_pkgs[@]}")
if [ "${1:-}" != "--build-only" ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how it should be configured; the tests write their own main.cf.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
# Keep package scripts from starting daemons: the tests start their own, on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
