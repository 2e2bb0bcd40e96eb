#!/usr/bin/env bash
# Install and start the system parts the tests and the demo need; quiet and quick when present.
set -euo pipefail

need=()
command -v litecoind >/dev/null || need+=(litecoind)
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v npm >/dev/null || need+=(nodejs npm)
# The console's browser tests drive Debian's Chromium; never a downloaded browser build.
command -v chromium >/dev/null || need+=(chromium)
if ((${#need[@]})); then
  echo "setup: installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# PostgreSQL: the production database, tested for real on 127.0.0.1:5432 with trust auth.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  conf=/etc/postgresql/$ver/main
  # Trust local TCP connections: a throwaway test cluster on loopback only.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"; then
    sed -i '1i host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
