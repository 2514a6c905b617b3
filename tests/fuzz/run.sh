#!/usr/bin/env bash
# Runs the fuzz harnesses one after another, one libFuzzer process at a time, each for --seconds (default
# 60) on its committed corpus (tests/fuzz/corpus/<name>) with its dictionary (tests/fuzz/dict), and prints
# a line per harness: executions, coverage (cov, ft) and corpus size at the end. New inputs go to
# <build>/fuzz-work/<name>/corpus, never into the committed corpus. A finding (a crash, an escaped
# exception, a sanitizer report, a leak, an input running past --timeout seconds) is saved there as
# crash-*, leak-*, timeout-* or oom-* and fails the run, which names the file and how to reproduce it.
#   tests/fuzz/run.sh [--build DIR] [--seconds N] [--timeout N] [name ...]   (default: every harness)
# The harnesses are built by cmake --build DIR --target fuzzers (tests/fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build-fuzz
seconds=60
timeout=10
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done

# The dictionary of each harness (tests/fuzz/dict/<dictionary>.dict).
declare -A dictionary=([checkpoint]=safetensors [example]=example [image]=image [kernel_plan]=kernel_plan
                       [manifest]=json [safetensors]=safetensors [tfrecord_index]=tfrecord
                       [tfrecord_read]=tfrecord)
if [ ${#names[@]} -eq 0 ]; then
  mapfile -t names < <(printf '%s\n' "${!dictionary[@]}" | sort)
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
failed=()
summary=()
for name in "${names[@]}"; do
  binary="$build/tests/fuzz/fuzz_$name"
  if [ -z "${dictionary[$name]:-}" ]; then
    echo "run.sh: no harness called $name (harnesses: ${!dictionary[*]})" >&2
    exit 2
  fi
  if [ ! -x "$binary" ]; then
    echo "run.sh: $binary is missing: build it with cmake --build $build --target fuzzers" >&2
    exit 2
  fi
  work="$build/fuzz-work/$name"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  log="$work/fuzz.log"
  echo "== fuzz_$name for ${seconds}s (log: $log)"
  start=$SECONDS
  status=0
  "$binary" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 -dict="tests/fuzz/dict/${dictionary[$name]}.dict" -artifact_prefix="$work/" \
    "$work/corpus" "tests/fuzz/corpus/$name" >"$log" 2>&1 || status=$?
  last=$(grep -a -E '^#[0-9]+' "$log" | tail -n 1 || true)
  runs=$(grep -a -o -E 'stat::number_of_executed_units: [0-9]+' "$log" | grep -o -E '[0-9]+$' || echo "?")
  coverage=$(grep -o -E 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" || echo "no status line")
  artifacts=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
              -o -name 'oom-*' -o -name 'slow-unit-*' \) | sort)
  line="fuzz_$name: $runs executions in $((SECONDS - start))s, $coverage"
  if [ $status -ne 0 ] || [ -n "$artifacts" ]; then
    grep -a -E 'fuzz finding:|ERROR: |runtime error:|SUMMARY:' "$log" | head -n 5 || true
    for a in $artifacts; do
      echo "  finding saved as $a; reproduce with: FCN_FUZZ_VERBOSE=1 $binary $a"
    done
    line="$line: FINDING (exit status $status)"
    failed+=("$name")
  fi
  echo "$line"
  summary+=("$line")
done

echo "== fuzzing summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]} (logs and inputs under $build/fuzz-work/)" >&2
  exit 1
fi
