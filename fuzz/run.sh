#!/usr/bin/env bash
# libFuzzer over every decoder that reads bytes from another process or the
# network, SECONDS (default 30) each, under AddressSanitizer.
#
#   cargo install cargo-fuzz      # once
#   fuzz/run.sh [SECONDS]
#
# cargo-fuzz asks for nightly-only compiler flags; RUSTC_BOOTSTRAP=1 lets
# the stable toolchain (the only one these machines have) accept them.
# Crashes land in fuzz/artifacts/<target>/; the script exits non-zero then.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
status=0
printf '%-16s %14s  %s\n' target executions result
for target in frame_reader manager_request manager_reply pool_tasks pool_reply chunk_u64 chunk_string error manager_frames manager_handshake; do
    log=$(mktemp)
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$seconds" >"$log" 2>&1
    rc=$?
    runs=$(grep -o 'Done [0-9]* runs' "$log" | awk '{print $2}')
    if [ "$rc" -eq 0 ]; then
        printf '%-16s %14s  %s\n' "$target" "${runs:-?}" "no finding"
    else
        printf '%-16s %14s  %s\n' "$target" "${runs:-?}" "FINDING (exit $rc): see fuzz/artifacts/$target/"
        tail -20 "$log"
        status=1
    fi
    rm -f "$log"
done
exit $status
