#!/usr/bin/env python3
"""DuckDB side of bench/features_vs_duckdb.sh.

  features_duckdb.py run DIR OUT.csv          compute the core feature columns (features_duckdb.sql)
  features_duckdb.py compare ECMO.csv DUCK.csv  check that both tables agree (exit 1 if not)

`run` prints the query time in seconds on its last line ("duckdb_seconds <s>").
"""

import pathlib
import sys
import time

import duckdb

COLUMNS = [
    "vis_at_0h",
    "vis_at_24h",
    "vis_reduction_24h",
    "max_norepinephrine_24h",
    "max_epinephrine_24h",
    "max_dopamine_24h",
    "max_dobutamine_24h",
    "max_milrinone_24h",
    "max_vasopressin_24h",
    "max_levosimendan_24h",
    "max_phenylephrine_24h",
    "max_angiotensin_ii_24h",
    "vasoactive_hours_24h",
    "lactate_clearance_24h",
    "fluid_balance_24h",
    "map_min_24h",
]
REL_TOL = 1e-9


def run(registry: str, out: str) -> None:
    sql = (pathlib.Path(__file__).parent / "features_duckdb.sql").read_text()
    sql = sql.replace("{dir}", registry.replace("'", "''")).replace("{out}", out.replace("'", "''"))
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(sql)
    print(f"duckdb_seconds {time.perf_counter() - started:.3f}")


def compare(ecmo_csv: str, duck_csv: str) -> int:
    con = duckdb.connect()
    for name, path in (("e", ecmo_csv), ("d", duck_csv)):
        con.execute(
            f"CREATE TABLE {name} AS SELECT run_id, {', '.join(COLUMNS)} FROM read_csv(?, header = true, "
            f"auto_detect = true, types = {{{', '.join(repr(c) + ': ' + repr('DOUBLE') for c in COLUMNS)}}})",
            [path],
        )
    n_e = con.execute("SELECT count(*) FROM e").fetchone()[0]
    n_d = con.execute("SELECT count(*) FROM d").fetchone()[0]
    missing = con.execute(
        "SELECT count(*) FROM e FULL OUTER JOIN d USING (run_id) WHERE e.run_id IS NULL OR d.run_id IS NULL"
    ).fetchone()[0]
    print(f"runs: ecmo {n_e}, duckdb {n_d}, in only one of them {missing}")
    bad = 0
    for c in COLUMNS:
        differs = (
            f"(e.{c} IS NULL) <> (d.{c} IS NULL) OR "
            f"abs(e.{c} - d.{c}) > {REL_TOL} * greatest(abs(e.{c}), abs(d.{c}), 1.0)"
        )
        n, ids = con.execute(
            f"SELECT count(*), list(run_id ORDER BY run_id)[1:10] FROM e JOIN d USING (run_id) WHERE {differs}"
        ).fetchone()
        exact, maxrel, nonnull = con.execute(
            f"SELECT count(*) FILTER (WHERE e.{c} IS NOT DISTINCT FROM d.{c}), "
            f"max(abs(e.{c} - d.{c}) / greatest(abs(e.{c}), abs(d.{c}), 1e-300)), count(e.{c}) "
            f"FROM e JOIN d USING (run_id)"
        ).fetchone()
        status = "ok" if n == 0 else f"MISMATCH in {n} runs, e.g. {', '.join(ids)}"
        print(f"  {c:<26} {nonnull:>7} values, {exact:>7} bit-identical, max rel diff {maxrel or 0:.2e}: {status}")
        bad += n
    if bad or missing or n_e != n_d:
        print("DuckDB and ecmo DISAGREE")
        return 1
    print(f"DuckDB and ecmo agree on all {len(COLUMNS)} columns (tolerance {REL_TOL:g} relative, 1e-9 absolute near 0)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
