#!/usr/bin/env bash
# Side-by-side speed of `ecmo analyze` and R on the same generated data, in one run.
#
#   bench/stats_vs_r.sh [N]        (default N = 1000000; needs Rscript with pROC, survival, MASS, rms, cmprsk, mice,
#                                   python3, and a release build: cargo build --release -p ecmo-cli)
#
# 1. R generates one synthetic dataset (N rows: binary y, markers m1/m2, time/event/grp,
#    x1..x20) and its first 10,000 and 2,000 rows (for stepAIC and validation).
# 2. R runs each analysis (timed with system.time, after reading the CSV).
# 3. ecmo runs the same analyses on the same files (timed: whole process, and the analysis
#    alone as reported by --timing).
# 4. The numbers are compared and the time ratios printed.
set -euo pipefail
N=${1:-1000000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ECMO=${ECMO:-$ROOT/target/release/ecmo}
DIR=${BENCH_DIR:-$(mktemp -d /tmp/ecmo-bench.XXXXXX)}
[ -x "$ECMO" ] || { echo "build first: cargo build --release -p ecmo-cli" >&2; exit 1; }
command -v Rscript >/dev/null || { echo "needs R: apt-get install -y r-base-core r-cran-proc r-cran-survival r-cran-mass r-cran-rms" >&2; exit 1; }

echo "data: $DIR (N = $N)"
if [ ! -s "$DIR/bench_mis.csv" ] || [ "$(($(wc -l < "$DIR/bench.csv") - 1))" != "$N" ]; then
  Rscript "$HERE/stats_vs_r.R" gen "$DIR" "$N"
fi
echo "running R ..."
Rscript "$HERE/stats_vs_r.R" run "$DIR"

X20=$(seq -s, -f 'x%g' 1 20)
X15=$(seq -s, -f 'x%g' 1 15)
run() { # name, args...
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$ECMO" analyze "$@" --json --timing > "$DIR/ecmo_$name.json" 2> "$DIR/ecmo_$name.err"
  t1=$(date +%s.%N)
  echo "$name $(echo "$t1 - $t0" | bc -l) $(sed -n 's/.*analysis \([0-9.]*\) s.*/\1/p' "$DIR/ecmo_$name.err")" >> "$DIR/ecmo_times.txt"
}
echo "running ecmo ..."
: > "$DIR/ecmo_times.txt"
run roc1 roc "$DIR/bench.csv" --outcome y --predictors m1 --no-coords
run roc2 roc "$DIR/bench.csv" --outcome y --predictors m1,m2 --no-coords
run glm logistic "$DIR/bench.csv" --outcome y --predictors "$X20" --no-profile
run km survival "$DIR/bench.csv" --time time --event event --group grp
run cox survival "$DIR/bench.csv" --time time --event event --cox x1,x2,x3,grp
run stepaic logistic "$DIR/bench_1e4.csv" --outcome y --predictors "$X20" --select stepaic-backward --no-profile
run validate validate "$DIR/bench_2000.csv" --outcome y --predictors "$X15" --select stepaic-backward --bootstrap 200 --seed 1
run validate_fbw validate "$DIR/bench_2000.csv" --outcome y --predictors "$X15" --select fastbw --bootstrap 200 --seed 1
run subgroup subgroup "$DIR/bench.csv" --outcome y --predictor m1 --by grp --no-profile
run nri reclassification "$DIR/bench.csv" --outcome y --old p_small --new p_full
run dca dca "$DIR/bench.csv" --outcome y --models p_full --thresholds 0.01:0.99:0.01
run dcaboot dca "$DIR/bench_1e4.csv" --outcome y --models p_full,p_small --thresholds 0.01:0.99:0.01 --bootstrap 200
run cif competing "$DIR/bench.csv" --time time --status cause --by grp
run finegray competing "$DIR/bench_2000.csv" --time time --status cause --finegray x1,x2,grp
run youden roc "$DIR/bench_1e4.csv" --outcome y --predictors m1 --direction "<" --no-coords --youden-bootstrap 500
run mice impute "$DIR/bench_mis.csv" --outcome y --predictors x1,x2,x3,grp --categorical grp --m 20 --maxit 10 --seed 5

python3 - "$DIR" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(f"{d}/r_results.json"))
times = {}
for line in open(f"{d}/ecmo_times.txt"):
    name, wall, ana = (line.split() + [""])[:3]
    times[name] = (float(wall), float(ana) if ana else float("nan"))
e = {k: json.load(open(f"{d}/ecmo_{k}.json")) for k in times}
def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)
checks = {}
checks["roc1"] = max(rel(e["roc1"]["predictors"][0]["auc"], r["roc1"]["auc"][0]),
                     rel(e["roc1"]["predictors"][0]["ci_low"], r["roc1"]["ci"][0]),
                     rel(e["roc1"]["predictors"][0]["ci_high"], r["roc1"]["ci"][1]))
checks["roc2"] = rel(e["roc2"]["comparisons"][0]["z"], r["roc2"]["z"][0])
checks["glm"] = max(max(rel(c["coef"], b) for c, b in zip(e["glm"]["coefficients"], r["glm"]["coef"])),
                    rel(e["glm"]["deviance"], r["glm"]["deviance"][0]))
checks["km"] = max(max(rel(g["median"], m) for g, m in zip(e["km"]["groups"], r["km"]["median"])),
                   rel(e["km"]["logrank"]["chisq"], r["km"]["logrank"][0]))
ec = e["cox"]["cox"]
zph = ec["proportional_hazards"]
checks["cox"] = max(max(rel(c["coef"], b) for c, b in zip(ec["coefficients"], r["cox"]["coef"])),
                    max(rel(c["se"], b) for c, b in zip(ec["coefficients"], r["cox"]["se"])),
                    rel(ec["loglik"], r["cox"]["loglik"][0]), rel(ec["concordance"], r["cox"]["concordance"][0]),
                    max(rel(a, b) for a, b in zip([t["chisq"] for t in zph["terms"]] + [zph["global"]["chisq"]], r["cox"]["zph"])),
                    rel(e["cox"]["groups"][0]["median"], r["cox"]["median"][0]))
same_terms = e["stepaic"]["terms"] == r["stepaic"]["terms"]
checks["stepaic"] = rel(e["stepaic"]["aic"], r["stepaic"]["aic"][0]) if same_terms else float("inf")
dxy = [i for i in e["validate"]["indexes"] if i["name"] == "dxy"][0]
# the LR statistic is a difference of two deviances of ~1e6: compare it on the deviance scale
checks["subgroup"] = max(abs(e["subgroup"]["interaction"]["test"]["statistic"] - r["subgroup"]["lr"][0]) / e["subgroup"]["interaction"]["deviance_main"],
                         max(rel(l["predictor"][0]["odds_ratio"], o) for l, o in zip(e["subgroup"]["levels"], r["subgroup"]["or"])),
                         max(rel(l["roc"]["auc"], a) for l, a in zip(e["subgroup"]["levels"], r["subgroup"]["auc"])),
                         rel(e["subgroup"]["overall"]["predictor"][0]["odds_ratio"], r["subgroup"]["or_all"][0]),
                         rel(e["subgroup"]["overall"]["roc"]["auc"], r["subgroup"]["auc_all"][0]),
                         rel(e["subgroup"]["auc_heterogeneity"]["statistic"], r["subgroup"]["d"][0]))
checks["nri"] = max(rel(e["nri"]["nri_continuous"]["nri"]["estimate"], r["nri"]["nri"][0]),
                    rel(e["nri"]["idi"]["estimate"], r["nri"]["idi"][0]))
checks["dca"] = max(abs(a - b) for a, b in zip(e["dca"]["curve"]["models"][0]["net_benefit"], r["dca"]["nb"]))
checks["cif"] = max(rel(t["statistic"], s) for t, s in zip(e["cif"]["incidence"]["tests"], r["cif"]["gray"]))
checks["finegray"] = max(rel(c["coef"], b) for c, b in zip(e["finegray"]["finegray"]["coefficients"], r["finegray"]["coef"]))
random = {
    "validate_fbw": "validate B=200, fastbw both (like for like), n=2000",
    "dcaboot": "NB difference, 200 bootstraps x 99 thr, n=1e4",
    "youden": "Youden cut-off CI, 500 bootstraps, n=1e4",
    "mice": "mice m=20 maxit=10 + pooled glm, n=2000",
}
r["validate_fbw"] = r["validate"]
labels = {
    "roc1": "ROC + DeLong CI, n=N",
    "roc2": "2 ROC + paired DeLong, n=N",
    "glm": "glm logistic, 20 predictors, n=N",
    "km": "Kaplan-Meier + log-rank, 2 groups, n=N",
    "cox": "Cox Efron + cox.zph + KM, 4 cov., n=N",
    "stepaic": "stepAIC backward, 20 pred., n=1e4",
    "validate": "validate B=200 (R: rms bw=TRUE), n=2000",
    "subgroup": "subgroup: 5 glm + LRT, 3 ROC + DeLong, n=N",
    "nri": "NRI + IDI (Hmisc improveProb), n=N",
    "dca": "decision curve, 99 thresholds, n=N",
    "cif": "CIF + Gray's test, 2 causes x 2 groups, n=N",
    "finegray": "Fine-Gray (crr), 3 covariates, n=2000",
}
labels.update(random)
print()
print(f"{'analysis':42s} {'R (s)':>8s} {'ecmo total':>10s} {'ecmo engine':>11s} {'R/total':>8s} {'R/engine':>8s}  max rel diff")
for k, lab in labels.items():
    rt = r[k]["seconds"]; wall, ana = times[k]
    chk = f"{checks[k]:.1e}" if k in checks else ("random: R's RNG differs" if k in random else f"n/a (selection differs; apparent Dxy R {r[k]['apparent_dxy'][0]:.4f}, ecmo {dxy['apparent']:.4f})")
    print(f"{lab:42s} {rt:8.3f} {wall:10.3f} {ana:11.3f} {rt/wall:8.1f} {rt/ana if ana > 0 else float('inf'):8.1f}  {chk}")
print()
print("ecmo total = whole process (read + parse CSV, analysis, JSON); engine = analysis alone (--timing).")
print("R time = the analysis call alone (the CSV is read before the clock starts).")
bad = [k for k, v in checks.items() if not v <= 1e-6]
if bad:
    print("NUMBERS DISAGREE (> 1e-6 relative):", ", ".join(bad))
    sys.exit(1)
print("all compared numbers agree within 1e-6 relative")
PY
