#!/usr/bin/env bash
# Benchmark of the test lab (e2e/lab/lab.sh), as root:
#
#   bash bench/lab.sh            # cold up only if the image is not cached yet
#   bash bench/lab.sh --cold     # also measure "from nothing" with a throwaway
#                                # cache (image + packages downloaded again)
#
# Prints: `up` time from nothing (image build included), `up` time with the
# image cached, `down` time, and each host's memory right after boot. Starts
# by taking any running lab down, and leaves the lab down.
# LAB_BENCH_HOSTS sets the host count (default 3); other LAB_* settings are
# passed through to lab.sh.
set -euo pipefail

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/e2e/lab/lab.sh
HOSTS=${LAB_BENCH_HOSTS:-3}
COLD=0
[[ ${1:-} == --cold ]] && COLD=1

if [[ $(id -u) -ne 0 ]]; then
  echo "bench/lab.sh: the test lab needs root; run it as root" >&2
  exit 1
fi

# Monotonic clock (/proc/uptime), not the wall clock: a VM's wall clock may
# be stepped while we measure.
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
secs() { printf '%d.%d s' $(($1 / 1000)) $(($1 % 1000 / 100)); }
# timed <label> <lab.sh args...>: runs lab.sh, prints the wall time.
timed() {
  local label=$1 t0 rc=0; shift
  t0=$(now_ms)
  bash "$LAB" "$@" >"$LOG" 2>&1 || rc=$?
  if ((rc != 0)); then
    cat "$LOG" >&2
    echo "bench/lab.sh: 'lab.sh $*' failed; taking the lab down" >&2
    bash "$LAB" down >&2 || true
    exit 1
  fi
  printf '%-44s %10s\n' "$label" "$(secs $(($(now_ms) - t0)))"
}

LOG=$(mktemp)
COLD_CACHE=""
cleanup() {
  rm -f "$LOG"
  [[ -z $COLD_CACHE ]] || rm -rf --one-file-system "$COLD_CACHE"
}
trap cleanup EXIT

# Start from nothing running.
bash "$LAB" down >/dev/null 2>&1

eval "$(bash "$LAB" env)"
echo "rampart lab bench: $HOSTS hosts, $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM"

# 1. From nothing: only meaningful when the image has to be built.
if ((COLD)); then
  # A throwaway cache: no image and no cached packages, like a fresh CI box
  # (prerequisites already installed, though).
  COLD_CACHE=$(mktemp -d /var/cache/rampart-lab-bench.XXXXXX)
  chmod 0755 "$COLD_CACHE" # apt-cacher-ng runs as its own user
  LAB_CACHE=$COLD_CACHE timed "up from nothing (image build), $HOSTS hosts" up "$HOSTS"
  LAB_CACHE=$COLD_CACHE timed "down" down
  rm -rf --one-file-system "$COLD_CACHE"
  COLD_CACHE=""
elif [[ ! -f $LAB_IMAGE/complete ]]; then
  timed "up from nothing (image build), $HOSTS hosts" up "$HOSTS"
  timed "down" down
else
  printf '%-44s %10s\n' "up from nothing (image build)" "skipped"
  echo "  (image cached in $LAB_IMAGE; --cold measures with an empty cache)"
fi

# 2. Cached image.
timed "up with cached image, $HOSTS hosts" up "$HOSTS"
timed "up again (no-op)" up "$HOSTS"

# 3. Memory of each host right after boot. The processes of a host are the
#    ones in its cgroup (nspawn + the container's systemd and services).
#    RSS counts shared pages in every process; PSS splits them fairly;
#    cgroup is the kernel's charge (memory.current on cgroup v2,
#    memory.usage_in_bytes on v1; includes page cache).
# shellcheck source=/dev/null
source "$LAB_STATE_DIR/config" # CG_ROOTS, BRIDGE, PREFIX
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; } # KiB -> MiB
echo "memory per host, right after boot:"
printf '  %-8s %6s %10s %10s %12s\n' HOST PROCS "RSS MiB" "PSS MiB" "cgroup MiB"
first_root=$(echo "$CG_ROOTS" | head -n1)
tot_rss=0 tot_pss=0
for ((i = 1; i <= HOSTS; i++)); do
  name=$PREFIX$i
  rss=0 pss=0 n=0
  for p in $(find "$first_root/rampart-lab-$BRIDGE/$name" -name cgroup.procs -exec cat {} + | sort -u); do
    r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    s=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
    rss=$((rss + ${r:-0})) pss=$((pss + ${s:-0})) n=$((n + 1))
  done
  cg=-
  for r in $CG_ROOTS; do
    d=$r/rampart-lab-$BRIDGE/$name
    if [[ -f $d/memory.current ]]; then cg=$(mib $(($(cat "$d/memory.current") / 1024))); break; fi
    if [[ -f $d/memory.usage_in_bytes ]]; then cg=$(mib $(($(cat "$d/memory.usage_in_bytes") / 1024))); break; fi
  done
  tot_rss=$((tot_rss + rss)) tot_pss=$((tot_pss + pss))
  printf '  %-8s %6d %10s %10s %12s\n' "$name" "$n" "$(mib "$rss")" "$(mib "$pss")" "$cg"
done
printf '  %-8s %6s %10s %10s\n' total "" "$(mib "$tot_rss")" "$(mib "$tot_pss")"

# 4. Down.
timed "down" down
