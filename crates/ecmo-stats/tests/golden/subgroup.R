## subgroup.R -- golden subgroup analysis: the same logistic model / ROC within each level of
## a grouping variable, and the likelihood-ratio test of the predictor x subgroup interaction.
## Run from this folder:  Rscript subgroup.R     Writes: subgroup.json
## Data: birthwt.csv (MASS::birthwt, race 1=white 2=black 3=other) and asah.csv (pROC::aSAH),
## both copied from ../../../../../shared/golden (written there by logistic_birthwt.R / roc_asah.R).
suppressPackageStartupMessages({ library(MASS); library(pROC) })
source("helpers.R")

bw <- read.csv("birthwt.csv")
bw$race <- factor(bw$race, levels = 1:3, labels = c("white", "black", "other"))
asah <- read.csv("asah.csv")
asah$gender <- factor(asah$gender, levels = c("Female", "Male"))
asah$poor <- as.integer(asah$outcome == "Poor")

## exact profile-likelihood CI by root finding (copied from shared/golden/logistic_birthwt.R) (no spline interpolation), for comparison
## with MASS's interpolated values: solve 2*(ll_hat - ll_prof(b_j)) = qchisq(0.95, 1)
profile_exact <- function(fit, level = 0.95) {
  X <- model.matrix(fit); y <- fit$y
  ll_hat <- as.numeric(logLik(fit)); crit <- qchisq(level, 1)
  b <- coef(fit); se <- sqrt(diag(vcov(fit)))
  prof_ll <- function(j, bj) {
    off <- bj * X[, j]
    Xr <- X[, -j, drop = FALSE]
    f <- glm.fit(Xr, y, family = binomial(), offset = off,
                 control = glm.control(epsilon = 1e-14, maxit = 100))
    -f$deviance / 2
  }
  res <- t(sapply(seq_along(b), function(j) {
    g <- function(bj) 2 * (ll_hat - prof_ll(j, bj)) - crit
    lo <- uniroot(g, c(b[j] - 6 * se[j], b[j]), tol = 1e-13)$root
    hi <- uniroot(g, c(b[j], b[j] + 6 * se[j]), tol = 1e-13)$root
    c(lo, hi)
  }))
  rownames(res) <- names(b); res
}
level_fit <- function(formula, data, predictor_cols) {
  f <- glm(formula, family = binomial, data = data)
  ct <- summary(f)$coefficients
  prof <- suppressMessages(confint(f))
  wald <- confint.default(f)
  exact <- profile_exact(f)
  rows <- lapply(predictor_cols, function(cn) list(
    term = cn, coef = num(ct[cn, 1]), se = num(ct[cn, 2]), z = num(ct[cn, 3]), p = num(ct[cn, 4]),
    or = exp(num(ct[cn, 1])), wald_ci = I(exp(num(wald[cn, ]))), profile_ci = I(exp(num(prof[cn, ]))),
    profile_exact_ci = I(exp(num(exact[cn, ])))))
  list(n = nrow(data), events = sum(f$y), deviance = f$deviance, coefficients = rows)
}

auc_block <- function(data, outcome, predictor) {
  r <- roc(data[[outcome]], data[[predictor]], levels = c(0, 1), quiet = TRUE)
  ci <- ci.auc(r, method = "delong")
  list(direction = r$direction, auc = num(r$auc), var = num(var(r)),
       ci = I(c(num(ci[1]), num(ci[3]))), n_cases = length(r$cases), n_controls = length(r$controls))
}

interaction_block <- function(main, inter, data) {
  m0 <- glm(main, family = binomial, data = data)
  m1 <- glm(inter, family = binomial, data = data)
  a <- anova(m0, m1, test = "LRT")
  list(main_formula = fstr(main), interaction_formula = fstr(inter),
       deviance_main = m0$deviance, deviance_interaction = m1$deviance,
       statistic = num(a$Deviance[2]), df = num(a$Df[2]), p = num(a[["Pr(>Chi)"]][2]))
}

## A: birthwt, age (numeric) adjusted for smoke, within race (3 levels)
a_levels <- lapply(levels(bw$race), function(l) {
  d <- bw[bw$race == l, ]
  c(list(level = l), level_fit(low ~ age + smoke, d, "age"), list(roc = auc_block(d, "low", "age")))
})
a <- list(
  outcome = "low", predictor = "age", adjust = I("smoke"), subgroup = "race",
  overall = c(level_fit(low ~ age + smoke, bw, "age"), list(roc = auc_block(bw, "low", "age"))),
  levels = a_levels,
  interaction = interaction_block(low ~ age + smoke + race, low ~ age + smoke + race + age:race, bw))

## B: aSAH, s100b unadjusted, within gender (2 levels); pROC unpaired test between the levels
b_levels <- lapply(levels(asah$gender), function(l) {
  d <- asah[asah$gender == l, ]
  c(list(level = l), level_fit(poor ~ s100b, d, "s100b"), list(roc = auc_block(d, "poor", "s100b")))
})
rf <- roc(asah$poor[asah$gender == "Female"], asah$s100b[asah$gender == "Female"], levels = c(0, 1), quiet = TRUE)
rm <- roc(asah$poor[asah$gender == "Male"], asah$s100b[asah$gender == "Male"], levels = c(0, 1), quiet = TRUE)
ut <- roc.test(rf, rm, method = "delong", paired = FALSE)
b <- list(
  outcome = "poor", predictor = "s100b", adjust = I(character(0)), subgroup = "gender",
  overall = c(level_fit(poor ~ s100b, asah, "s100b"), list(roc = auc_block(asah, "poor", "s100b"))),
  levels = b_levels,
  interaction = interaction_block(poor ~ s100b + gender, poor ~ s100b + gender + s100b:gender, asah),
  auc_unpaired_test = list(statistic = num(ut$statistic), df = num(ut$parameter), p = num(ut$p.value)))

## C: birthwt, race (categorical predictor, 2 columns) within smoke (2 levels): 2-df interaction
c_levels <- lapply(c(0, 1), function(l) {
  d <- bw[bw$smoke == l, ]
  c(list(level = as.character(l)), level_fit(low ~ race + lwt, d, c("raceblack", "raceother")))
})
cc <- list(
  outcome = "low", predictor = "race", adjust = I("lwt"), subgroup = "smoke",
  levels = c_levels,
  interaction = interaction_block(low ~ race + lwt + factor(smoke), low ~ race + lwt + factor(smoke) + race:factor(smoke), bw))

write_json_file(list(versions = versions_block(c("stats", "MASS", "pROC")),
                     note = "confint() on glm = MASS profile likelihood (spline-interpolated, ~1e-4); Wald = confint.default",
                     age_by_race = a, s100b_by_gender = b, race_by_smoke = cc), "subgroup.json")
