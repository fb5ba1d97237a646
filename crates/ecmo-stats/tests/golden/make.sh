#!/bin/sh
# Regenerates the reference outputs of the issue-9 methods in this folder. Tests read the
# committed JSON; they never call R.
# Needs R 4.2 with (Debian 12): r-base-core r-cran-mass r-cran-proc r-cran-survival r-cran-rms
#   r-cran-cmprsk r-cran-mice
# Data: birthwt.csv (MASS::birthwt), asah.csv (pROC::aSAH), lung.csv (survival::lung) and
# helpers.R are copies of the files of the same name in ../../../../../shared/golden.
set -e
cd "$(dirname "$0")"
for s in *.R; do
  [ "$s" = helpers.R ] && continue
  echo "Rscript $s"
  Rscript "$s"
done
