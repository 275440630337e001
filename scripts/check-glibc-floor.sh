#!/usr/bin/env bash
# Fails when a Linux binary needs a newer glibc than FLOOR: the newest GLIBC_x.y symbol version
# it imports is the oldest glibc it can load on (`GLIBC_2.xx not found` otherwise).
#   scripts/check-glibc-floor.sh pipedream-connect.linux-x64-gnu.node 2.17
set -euo pipefail
file=$1
floor=${2:-2.17}
needed=$(objdump -T "$file" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V -u | tail -1)
if [ -z "$needed" ]; then
  echo "$file: no GLIBC symbol versions found (not a glibc binary?)" >&2
  exit 1
fi
if [ "$(printf '%s\n%s\n' "$needed" "$floor" | sort -V | tail -1)" != "$floor" ]; then
  echo "$file needs glibc $needed, newer than the floor $floor" >&2
  objdump -T "$file" | grep "GLIBC_$needed" >&2
  exit 1
fi
echo "$file: needs glibc $needed (floor $floor)"
