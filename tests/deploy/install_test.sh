#!/bin/sh
# Installs this build into a temporary prefix, builds tools/examples against it with
# find_package(pgc), and trains embed_ps with WORKERS embed_worker processes on loopback.
# Succeeds only if every process exits 0 and embed_ps verified every decoded gradient.
#   install_test.sh BUILD_DIR SOURCE_DIR CMAKE C_COMPILER CXX_COMPILER [BUILD_TYPE]
set -eu
build=$1 source=$2 cmake=$3 cc=$4 cxx=$5 config=${6:-Release} cxxflags=${7:-}
workers=3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgc-install.XXXXXX")
pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Runs a step quietly; prints its output if it fails.
step() {
  log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "FAILED: $*"
    cat "$log"
    exit 1
  fi
}

step "$tmp/install.log" "$cmake" --install "$build" --prefix "$tmp/prefix"
for example in embed_worker embed_ps; do
  step "$tmp/$example.configure.log" "$cmake" -S "$source/tools/examples/$example" \
    -B "$tmp/$example" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE="$config" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$cxxflags"
  step "$tmp/$example.build.log" "$cmake" --build "$tmp/$example"
  echo "built $example against $tmp/prefix"
done

timeout 120 "$tmp/embed_ps/embed_ps" "$workers" >"$tmp/ps.log" 2>&1 &
ps_pid=$!
pids=$ps_pid
address=""
for _ in $(seq 1 100); do
  address=$(sed -n 's/^embed_ps: listening on \([^ ]*\).*/\1/p' "$tmp/ps.log")
  [ -n "$address" ] && break
  sleep 0.1
done
if [ -z "$address" ]; then
  echo "FAILED: embed_ps did not listen within 10 s"
  cat "$tmp/ps.log"
  exit 1
fi
worker_pids=""
for i in $(seq 0 $((workers - 1))); do
  timeout 120 "$tmp/embed_worker/embed_worker" "$address" "$workers" "w$i" >"$tmp/w$i.log" 2>&1 &
  worker_pids="$worker_pids $!"
  pids="$pids $!"
done

status=0
wait "$ps_pid" || status=$?
grep -v heartbeat "$tmp/ps.log"
echo "embed_ps: $(grep -c heartbeat "$tmp/ps.log") heartbeat lines from the service's own timer"
if [ "$status" -ne 0 ]; then echo "FAILED: embed_ps exited with $status"; fi
i=0
for pid in $worker_pids; do
  rc=0
  wait "$pid" || rc=$?
  cat "$tmp/w$i.log"
  if [ "$rc" -ne 0 ]; then echo "FAILED: embed_worker w$i exited with $rc"; status=1; fi
  i=$((i + 1))
done
pids=""
[ "$status" -eq 0 ] || exit 1
grep -q "^embed_ps: 10 iterations, .*, verified$" "$tmp/ps.log" || { echo "FAILED: not verified"; exit 1; }
grep -q "^embed_ps: heartbeat" "$tmp/ps.log" || { echo "FAILED: the service's timer never ran"; exit 1; }
echo "install test passed"
