## added_value.R -- golden ROC comparisons, NRI/IDI and decision curves on MASS::birthwt.
## Run from this folder:  Rscript added_value.R     Writes: birthwt_pred.csv, added_value.json
## Data: birthwt.csv (copy of shared/golden/birthwt.csv = MASS::birthwt, race 1/2/3).
## Three nested logistic models give the predicted probabilities compared here; they are
## written to birthwt_pred.csv so that the Rust tests use R's own predictions.
suppressPackageStartupMessages({ library(pROC); library(Hmisc) })
source("helpers.R")

bw <- read.csv("birthwt.csv")
bw$race <- factor(bw$race, levels = 1:3, labels = c("white", "black", "other"))
p_base <- fitted(glm(low ~ lwt + smoke, binomial, bw))
p_mid <- fitted(glm(low ~ lwt + smoke + race + ht, binomial, bw))
p_full <- fitted(glm(low ~ age + lwt + race + smoke + ptl + ht + ui + ftv, binomial, bw))
write_csv_full(data.frame(row = bw$row, low = bw$low, p_base = num(p_base), p_mid = num(p_mid),
                          p_full = num(p_full)), "birthwt_pred.csv")
y <- bw$low

## --- ROC: paired difference with CI, k > 2 DeLong chi-square, Youden cut-off bootstrap
rb <- roc(y, p_base, levels = c(0, 1), direction = "<", quiet = TRUE)
rm <- roc(y, p_mid, levels = c(0, 1), direction = "<", quiet = TRUE)
rf <- roc(y, p_full, levels = c(0, 1), direction = "<", quiet = TRUE)
pt <- roc.test(rf, rb, method = "delong", paired = TRUE)
paired <- list(auc_full = num(rf$auc), auc_base = num(rb$auc), z = num(pt$statistic), p = num(pt$p.value),
               diff_ci = I(num(pt$conf.int)))

## DeLong (1988) chi-square for k correlated AUCs: pROC compares two curves only, so the
## statistic is written out here from pROC's own placements: S = cov(V10)/m + cov(V01)/n,
## L = successive differences, chi2 = (L a)' (L S L')^-1 (L a), df = k - 1.
pl <- lapply(list(rb, rm, rf), pROC:::delongPlacements)
auc <- sapply(pl, function(x) x$theta)
V10 <- sapply(pl, function(x) x$X)
V01 <- sapply(pl, function(x) x$Y)
S <- cov(V10) / nrow(V10) + cov(V01) / nrow(V01)
L <- rbind(c(1, -1, 0), c(0, 1, -1))
la <- L %*% auc
chi2 <- num(t(la) %*% solve(L %*% S %*% t(L)) %*% la)
multi <- list(aucs = I(num(auc)), covariance = S, statistic = chi2, df = 2, p = pchisq(chi2, 2, lower.tail = FALSE))

## Bootstrap of the Youden-optimal threshold of p_full, as pROC's ci.coords(x = "best"):
## cases and controls resampled separately, the direction kept, ties broken at random.
B <- 2000
set.seed(20261121)
ci_pr <- ci.coords(rf, x = "best", input = "threshold", ret = c("threshold", "sensitivity", "specificity"),
                   best.method = "youden", best.policy = "random", boot.n = B, boot.stratified = TRUE,
                   progress = "none")
set.seed(7)
boot_thr <- replicate(B, {
  rr <- roc(c(rep(1, length(rf$cases)), rep(0, length(rf$controls))),
            c(sample(rf$cases, replace = TRUE), sample(rf$controls, replace = TRUE)),
            levels = c(0, 1), direction = "<", quiet = TRUE)
  cc <- coords(rr, x = "best", best.method = "youden", ret = "threshold", transpose = FALSE)$threshold
  if (length(cc) > 1) cc <- sample(cc, 1)
  cc
})
best <- coords(rf, x = "best", best.method = "youden", ret = c("threshold", "sensitivity", "specificity"),
               transpose = FALSE)
youden <- list(best = best, replicates = B,
               ci_coords_threshold = I(num(ci_pr$threshold)),
               ci_coords_sensitivity = I(num(ci_pr$sensitivity)),
               ci_coords_specificity = I(num(ci_pr$specificity)),
               manual_mean = mean(boot_thr), manual_sd = sd(boot_thr),
               manual_quantiles = I(num(quantile(boot_thr, c(0.025, 0.5, 0.975)))))

## --- NRI / IDI: Hmisc::improveProb (category-free NRI, IDI, Pencina's SEs); the categorical
## NRI is improveProb on the risk categories (cut-offs 0.2, 0.4) coded into [0, 1], so that
## "up" and "down" are moves between categories.
ip_block <- function(ip) list(n = ip$n, na = ip$na, nb = ip$nb, pup_ev = ip$pup.ev, pup_ne = ip$pup.ne,
  pdown_ev = ip$pdown.ev, pdown_ne = ip$pdown.ne, nri = ip$nri, se_nri = ip$se.nri, z_nri = ip$z.nri,
  nri_ev = ip$nri.ev, se_nri_ev = ip$se.nri.ev, nri_ne = ip$nri.ne, se_nri_ne = ip$se.nri.ne,
  idi = ip$idi, se_idi = ip$se.idi, z_idi = ip$z.idi)
ip <- improveProb(p_base, p_full, y)
cuts <- c(0.2, 0.4)
cat_of <- function(p) (findInterval(p, cuts)) / length(cuts)   # 0, 0.5, 1: [0,.2), [.2,.4), [.4,1]
ipc <- improveProb(cat_of(p_base), cat_of(p_full), y)
reclass <- list(continuous = ip_block(ip), categorical = c(list(cutoffs = I(cuts)), ip_block(ipc)[
  c("n", "pup_ev", "pup_ne", "pdown_ev", "pdown_ne", "nri", "se_nri", "z_nri", "nri_ev", "se_nri_ev", "nri_ne", "se_nri_ne")]))

## --- Decision curves: explicit net-benefit formula (dcurves is not packaged for Debian):
## NB(pt) = TP/n - FP/n * pt/(1 - pt), positive if p >= pt; treat all = prev - (1-prev) pt/(1-pt).
thr <- seq(0.05, 0.60, by = 0.05)
nb <- function(p, y, t) { pos <- p >= t; sum(pos & y == 1) / length(y) - sum(pos & y == 0) / length(y) * t / (1 - t) }
prev <- mean(y)
dca <- list(thresholds = I(thr),
            full = I(sapply(thr, function(t) nb(p_full, y, t))),
            base = I(sapply(thr, function(t) nb(p_base, y, t))),
            treat_all = I(prev - (1 - prev) * thr / (1 - thr)))
## bootstrap of NB(full) - NB(base): rows resampled, percentile CI (type 7), B = 2000
set.seed(11)
D <- replicate(B, { i <- sample.int(length(y), replace = TRUE)
  sapply(thr, function(t) nb(p_full[i], y[i], t) - nb(p_base[i], y[i], t)) })
dca$difference <- list(estimate = I(dca$full - dca$base), replicates = B,
                       boot_mean = I(rowMeans(D)), boot_sd = I(apply(D, 1, sd)),
                       ci_low = I(apply(D, 1, quantile, 0.025)), ci_high = I(apply(D, 1, quantile, 0.975)))

write_json_file(list(versions = versions_block(c("stats", "pROC", "Hmisc")),
                     roc_paired = paired, roc_multi = multi, youden_bootstrap = youden,
                     reclassification = reclass, decision_curve = dca), "added_value.json")
