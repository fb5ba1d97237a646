#!/usr/bin/env bash
# `ecmo features --from DIR` against the same core features in DuckDB SQL, on `ecmo synth`
# registries of 1k, 10k and 100k runs (issue 3, "Speed").
#
#   bench/features_vs_duckdb.sh            # sizes 1000 10000 100000
#   SIZES="1000 10000" bench/features_vs_duckdb.sh
#
# Needs: cargo, python3 with the duckdb package (pip install duckdb), GNU /usr/bin/time.
# Registries and outputs go to bench/out/ (gitignored; 100k runs is about 3.9 GB).
# Prints per size: wall time, cost per run, peak RSS of each side, the speed and memory
# ratios, and whether the two tables agree (features_duckdb.py compare).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 10000 100000"}
SEED=${SEED:-42}
OUT=bench/out
mkdir -p "$OUT"

python3 -c 'import duckdb' 2>/dev/null || { echo "needs the duckdb Python package: pip install duckdb" >&2; exit 2; }
cargo build --release -q -p ecmo-cli
ECMO=$PWD/target/release/ecmo

# measure LABEL CMD...: runs CMD under /usr/bin/time -v; sets WALL (s) and RSS (MB).
measure() {
    local log="$OUT/time.log"
    /usr/bin/time -v "$@" >"$OUT/cmd.out" 2>"$log" || { cat "$log" "$OUT/cmd.out" >&2; exit 1; }
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$log")
    RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$log")
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), $(uname -sr); duckdb $(python3 -c 'import duckdb; print(duckdb.__version__)')"
printf '%-8s %10s %9s %9s %10s %9s %9s %8s %8s  %s\n' runs rows ecmo_s us/run ecmo_MB duck_s duck_MB speed mem agree
status=0
for n in $SIZES; do
    dir="$OUT/synth_$n"
    if [ ! -f "$dir/runs.csv" ] || [ "$(($(wc -l <"$dir/runs.csv") - 1))" != "$n" ]; then
        rm -rf "$dir"
        "$ECMO" synth --patients "$n" --seed "$SEED" --out "$dir" >/dev/null 2>&1
    fi
    rows=$(cat "$dir"/observations.csv "$dir"/infusions.csv | wc -l)
    # Warm the page cache equally for both sides.
    cat "$dir"/*.csv >/dev/null

    measure "$ECMO" features --from "$dir" --out "$OUT/ecmo_$n.csv"
    e_wall=$WALL e_rss=$RSS
    measure python3 bench/features_duckdb.py run "$dir" "$OUT/duckdb_$n.csv"
    d_wall=$WALL d_rss=$RSS
    d_query=$(awk '/duckdb_seconds/ {print $2}' "$OUT/cmd.out")

    if python3 bench/features_duckdb.py compare "$OUT/ecmo_$n.csv" "$OUT/duckdb_$n.csv" >"$OUT/compare_$n.txt"; then
        agree=yes
    else
        agree="NO (see $OUT/compare_$n.txt)"
        status=1
    fi
    awk -v n="$n" -v rows="$rows" -v ew="$e_wall" -v er="$e_rss" -v dw="$d_wall" -v dr="$d_rss" -v a="$agree" 'BEGIN {
        printf "%-8s %10d %9.2f %9.1f %10d %9.2f %9d %7.2fx %7.2fx  %s\n", n, rows, ew, ew / n * 1e6, er, dw, dr, dw / ew, dr / er, a }'
    echo "         (duckdb query alone: ${d_query} s; speed = duckdb wall / ecmo wall, mem = duckdb peak RSS / ecmo peak RSS)"
done
echo
echo "Column-by-column agreement of the largest size:"
cat "$OUT/compare_${SIZES##* }.txt"
exit $status
