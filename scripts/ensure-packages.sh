#!/usr/bin/env bash
# Debian packages yunzhang needs beside Python: installed when missing, never skipped.
#   runtime: a CJK font for generated seal images (AR PL UMing, a Song/Ming face as seals use)
#   test:    the runtime ones plus SoftHSM2 (PKCS#11 key store tests), OpenSSL (the independent
#            validator of certificates, CRLs and OCSP answers), poppler-utils and qpdf (PDF checks),
#            zbar-tools (reads the QR codes of the login page)
# Usage: ensure-packages.sh runtime|test
set -euo pipefail

say() { printf 'ensure-packages: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

runtime=(fonts-arphic-uming)
test=("${runtime[@]}" softhsm2 openssl poppler-utils qpdf zbar-tools)
case "${1:-runtime}" in
  runtime) wanted=("${runtime[@]}") ;;
  test) wanted=("${test[@]}") ;;
  *) say "usage: $0 runtime|test"; exit 2 ;;
esac

missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
