# Side-by-side benchmark, R half. Called by bench/stats_vs_r.sh:
#   Rscript stats_vs_r.R gen DIR N     -> DIR/bench.csv (N rows), DIR/bench_1e4.csv, DIR/bench_2000.csv
#   Rscript stats_vs_r.R run DIR       -> DIR/r_results.json (numbers and seconds per analysis)
# Timings cover the analysis only (the CSV is read before the clock starts).
suppressPackageStartupMessages({
  library(pROC); library(survival); library(MASS); library(rms); library(cmprsk); library(mice); library(Hmisc)
})
args <- commandArgs(trailingOnly = TRUE)
mode <- args[1]; dir <- args[2]

if (mode == "gen") {
  n <- as.numeric(args[3])
  set.seed(20240501)
  p <- 20
  x <- matrix(round(rnorm(n * p), 4), n, p)
  colnames(x) <- sprintf("x%d", 1:p)
  beta <- c(0.8, -0.5, 0.4, 0.3, 0.2, rep(0.1, 5), rep(0, p - 10))
  lp <- -1 + x %*% beta
  y <- rbinom(n, 1, plogis(lp))
  grp <- rbinom(n, 1, 0.5)
  rate <- 0.01 * exp(0.5 * x[, 1] - 0.3 * x[, 2] + 0.2 * x[, 3] + 0.4 * grp)
  t_event <- rexp(n, rate)
  t_cens <- runif(n, 0, 200)
  time <- round(pmin(t_event, t_cens), 1)
  event <- as.integer(t_event <= t_cens)
  # two markers with ties (rounded), correlated with the outcome
  m1 <- round(lp + rnorm(n), 2)
  m2 <- round(0.5 * lp + rnorm(n), 2)
  # competing cause of the event (1 or 2), and predicted risks of a small and a full model
  cause <- ifelse(event == 1, 1 + rbinom(n, 1, plogis(-0.5 + 0.8 * x[, 4])), 0)
  p_small <- round(plogis(-1 + 0.8 * x[, 1] - 0.5 * x[, 2]), 6)
  p_full <- round(plogis(lp), 6)
  d <- data.frame(y = y, m1 = m1, m2 = m2, time = time, event = event, grp = grp, cause = cause,
                  p_small = p_small, p_full = p_full, x)
  write.csv(d, file.path(dir, "bench.csv"), row.names = FALSE, quote = FALSE)
  write.csv(d[1:10000, ], file.path(dir, "bench_1e4.csv"), row.names = FALSE, quote = FALSE)
  write.csv(d[1:2000, ], file.path(dir, "bench_2000.csv"), row.names = FALSE, quote = FALSE)
  # incomplete copy of the first 2,000 rows for multiple imputation (MCAR)
  dm <- d[1:2000, c("y", "x1", "x2", "x3", "grp")]
  dm$x1[sample(2000, 300)] <- NA; dm$x2[sample(2000, 200)] <- NA; dm$grp[sample(2000, 200)] <- NA
  write.csv(dm, file.path(dir, "bench_mis.csv"), row.names = FALSE, quote = FALSE, na = "NA")
  quit(save = "no")
}

num <- function(v) paste0("[", paste(sprintf("%.17g", v), collapse = ","), "]")
str <- function(v) paste0("[", paste(sprintf("\"%s\"", v), collapse = ","), "]")
out <- list()
put <- function(name, secs, fields) {
  out[[name]] <<- paste0("{\"seconds\":", sprintf("%.4f", secs), ",",
                         paste(sprintf("\"%s\":%s", names(fields), unlist(fields)), collapse = ","), "}")
}
tm <- function(expr) { t <- system.time(r <- force(expr))[["elapsed"]]; list(r = r, t = t) }

d <- read.csv(file.path(dir, "bench.csv"))
xs <- sprintf("x%d", 1:20)

# ROC: one curve + DeLong CI
a <- tm({ r <- roc(d$y, d$m1, levels = c(0, 1), direction = "auto", quiet = TRUE); ci <- ci.auc(r, method = "delong"); list(r, ci) })
put("roc1", a$t, list(auc = num(as.numeric(a$r[[1]]$auc)), ci = num(as.numeric(a$r[[2]])[c(1, 3)])))
# two curves + paired DeLong test
a <- tm({
  r1 <- roc(d$y, d$m1, levels = c(0, 1), quiet = TRUE); r2 <- roc(d$y, d$m2, levels = c(0, 1), quiet = TRUE)
  roc.test(r1, r2, method = "delong")
})
put("roc2", a$t, list(z = num(a$r$statistic), p = num(a$r$p.value)))
# glm, 20 predictors
f20 <- as.formula(paste("y ~", paste(xs, collapse = " + ")))
a <- tm(glm(f20, family = binomial, data = d))
put("glm", a$t, list(coef = num(coef(a$r)), se = num(sqrt(diag(vcov(a$r)))), deviance = num(deviance(a$r))))
# Kaplan-Meier, two groups
# (ecmo's survival --group also runs the log-rank test: survdiff is timed too)
a <- tm(list(km = survfit(Surv(time, event) ~ grp, data = d), lr = survdiff(Surv(time, event) ~ grp, data = d)))
put("km", a$t, list(median = num(summary(a$r$km)$table[, "median"]), logrank = num(a$r$lr$chisq)))
# Cox, Efron, 4 covariates
# ecmo's survival --cox also reports cox.zph (PH test) and, without --group, the overall
# Kaplan-Meier curve: both are timed here too
a <- tm({
  fit <- coxph(Surv(time, event) ~ x1 + x2 + x3 + grp, data = d, ties = "efron")
  list(fit = fit, zph = cox.zph(fit), km = survfit(Surv(time, event) ~ 1, data = d))
})
put("cox", a$t, list(coef = num(coef(a$r$fit)), se = num(sqrt(diag(vcov(a$r$fit)))), loglik = num(a$r$fit$loglik[2]),
                     concordance = num(a$r$fit$concordance[["concordance"]]),
                     zph = num(a$r$zph$table[, "chisq"]), median = num(summary(a$r$km)$table[["median"]])))
# stepAIC backward, n = 1e4, 20 predictors
d4 <- read.csv(file.path(dir, "bench_1e4.csv"))
a <- tm(stepAIC(glm(f20, family = binomial, data = d4), direction = "backward", trace = 0))
put("stepaic", a$t, list(terms = str(attr(terms(a$r), "term.labels")), aic = num(AIC(a$r))))
# rms::validate, B = 200, bw = TRUE, n = 2000, 15 candidates
d2 <- read.csv(file.path(dir, "bench_2000.csv"))
f15 <- as.formula(paste("y ~", paste(xs[1:15], collapse = " + ")))
set.seed(1)
a <- tm({ fit <- lrm(f15, data = d2, x = TRUE, y = TRUE); validate(fit, B = 200, bw = TRUE) })
v <- a$r
put("validate", a$t, list(apparent_dxy = num(v["Dxy", "index.orig"]), corrected_dxy = num(v["Dxy", "index.corrected"])))

# subgroup, n = N: what ecmo analyze subgroup computes -- the model on all rows and in each
# level, the ROC curve + DeLong CI of the predictor on all rows and in each level, the unpaired
# DeLong test between the levels' curves, and the LR test of the interaction
a <- tm({
  fits <- lapply(0:1, function(g) glm(y ~ m1, family = binomial, data = d[d$grp == g, ]))
  m0 <- glm(y ~ m1 + factor(grp), family = binomial, data = d)
  m1i <- glm(y ~ m1 * factor(grp), family = binomial, data = d)
  overall <- glm(y ~ m1, family = binomial, data = d)
  rocs <- lapply(0:1, function(g) {
    s <- d$grp == g
    r <- roc(d$y[s], d$m1[s], levels = c(0, 1), direction = "auto", quiet = TRUE)
    list(r, ci.auc(r, method = "delong"))
  })
  rall <- roc(d$y, d$m1, levels = c(0, 1), direction = "auto", quiet = TRUE)
  ciall <- ci.auc(rall, method = "delong")
  rt <- roc.test(rocs[[1]][[1]], rocs[[2]][[1]], method = "delong", paired = FALSE)
  list(fits, anova(m0, m1i, test = "LRT"), overall, rocs, rt, ciall)
})
put("subgroup", a$t, list(lr = num(a$r[[2]]$Deviance[2]), or = num(sapply(a$r[[1]], function(f) exp(coef(f)[2]))),
  or_all = num(exp(coef(a$r[[3]])[2])), auc = num(sapply(a$r[[4]], function(x) as.numeric(x[[1]]$auc))),
  auc_all = num(as.numeric(a$r[[6]])[2]), d = num(a$r[[5]]$statistic)))
# NRI / IDI, n = N
a <- tm(improveProb(d$p_small, d$p_full, d$y))
put("nri", a$t, list(nri = num(a$r$nri), idi = num(a$r$idi)))
# decision curve, 99 thresholds, explicit formula, n = N
thr <- round(seq(0.01, 0.99, by = 0.01), 12)  # as ecmo parses 0.01:0.99:0.01
a <- tm(sapply(thr, function(t) { pos <- d$p_full >= t; (sum(pos & d$y == 1) - sum(pos & d$y == 0) * t / (1 - t)) / nrow(d) }))
put("dca", a$t, list(nb = num(a$r)))
# net-benefit difference, 200 bootstrap resamples, 99 thresholds, n = 1e4
a <- tm({ set.seed(3); replicate(200, { i <- sample.int(nrow(d4), replace = TRUE); yy <- d4$y[i]
  sapply(thr, function(t) { a1 <- d4$p_full[i] >= t; a2 <- d4$p_small[i] >= t
    (sum(a1 & yy == 1) - sum(a1 & yy == 0) * t / (1 - t) - sum(a2 & yy == 1) + sum(a2 & yy == 0) * t / (1 - t)) / length(yy) }) }) })
put("dcaboot", a$t, list(b = num(200)))
# cumulative incidence and Gray's test by grp, n = N
a <- tm(cuminc(d$time, d$cause, d$grp))
put("cif", a$t, list(gray = num(a$r$Tests[, "stat"])))
# Fine-Gray, 3 covariates, n = 2000
a <- tm(crr(d2$time, d2$cause, cbind(d2$x1, d2$x2, d2$grp), failcode = 1, cencode = 0))
put("finegray", a$t, list(coef = num(a$r$coef)))
# Youden cut-off bootstrap CI, 500 stratified resamples, n = 1e4
r4 <- roc(d4$y, d4$m1, levels = c(0, 1), direction = "<", quiet = TRUE)
a <- tm({ set.seed(4); ci.coords(r4, x = "best", input = "threshold", ret = "threshold", best.method = "youden",
                                 best.policy = "random", boot.n = 500, progress = "none") })
put("youden", a$t, list(ci = num(as.numeric(a$r$threshold)[c(1, 3)])))
# multiple imputation m = 20, maxit = 10, pooled glm, n = 2000
dm <- read.csv(file.path(dir, "bench_mis.csv"))
dm$grp <- factor(dm$grp)
a <- tm({ imp <- mice(dm, m = 20, maxit = 10, seed = 5, printFlag = FALSE)
  summary(pool(with(imp, glm(y ~ x1 + x2 + x3 + grp, family = binomial)))) })
put("mice", a$t, list(coef = num(a$r$estimate)))

writeLines(paste0("{", paste(sprintf("\"%s\":%s", names(out), unlist(out)), collapse = ",\n"), "}"),
           file.path(dir, "r_results.json"))
