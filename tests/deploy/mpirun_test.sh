#!/bin/sh
# `pgc rank` under mpirun: 5 ranks, rank 0 the PS, ranks 1-4 the workers, once finding the PS
# through a rendezvous file and once through --ps HOST:PORT.
#   mpirun_test.sh PGC
set -eu
pgc=$1
if ! command -v mpirun >/dev/null 2>&1; then
  echo "mpirun test skipped: mpirun not found (apt-get install openmpi-bin)"
  exit 77
fi
flags=""
if mpirun --version 2>&1 | grep -q "Open MPI"; then
  flags="--oversubscribe"  # 5 ranks on however few cores
  [ "$(id -u)" -eq 0 ] && flags="$flags --allow-run-as-root"
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgc-mpirun.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
train="--load 2 --iterations 5 --dim 32 --samples 2000 --verify"

check() {
  name=$1 rc=$2
  cat "$tmp/$name.log"
  [ "$rc" -eq 0 ] || { echo "FAILED: $name: mpirun exited with $rc"; exit 1; }
  grep -q "pgc ps: 5 iterations, .*, verified" "$tmp/$name.log" || {
    echo "FAILED: $name: the PS did not verify 5 iterations"; exit 1; }
  [ "$(grep -c 'pgc rank: rank [1-4] of 5 .*: worker w[0-3] connects to' "$tmp/$name.log")" -eq 4 ] || {
    echo "FAILED: $name: not 4 workers"; exit 1; }
}

rc=0
timeout 120 mpirun $flags -n 5 "$pgc" rank --listen 127.0.0.1:0 --rendezvous "$tmp/ps.address" \
  $train >"$tmp/rendezvous.log" 2>&1 || rc=$?
check rendezvous "$rc"

# --ps: a port free a moment ago (python3 when there; else a port from our pid).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
       echo $((20000 + $$ % 20000)))
rc=0
timeout 120 mpirun $flags -n 5 "$pgc" rank --listen "127.0.0.1:$port" --ps "127.0.0.1:$port" \
  $train >"$tmp/address.log" 2>&1 || rc=$?
check address "$rc"
echo "mpirun test passed"
