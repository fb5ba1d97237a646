## mice.R -- golden multiple imputation on MASS::birthwt with values deleted at random.
## Run from this folder:  Rscript mice.R     Writes: birthwt_mis.csv, mice.json
## Missing values (MCAR, fixed seed): lwt 15 % (numeric: pmm), smoke 10 % (binary: logreg),
## race 12 % (3 levels: polyreg), ht complete, low complete. Analysis model:
## glm(low ~ age + lwt + race + smoke + ht, binomial), pooled with Rubin's rules (mice::pool).
## mice's random numbers differ from ecmo's, so pooled estimates are compared within
## Monte-Carlo error; Rubin's rules themselves are checked exactly: the per-imputation
## estimates and covariances of R's run are stored, and pool() of them is the reference.
suppressPackageStartupMessages({ library(mice) })
source("helpers.R")
bw <- read.csv("birthwt.csv")
set.seed(1)
n <- nrow(bw)
mis <- data.frame(row = bw$row, low = bw$low, age = bw$age, lwt = bw$lwt,
                  race = c("white", "black", "other")[bw$race], smoke = bw$smoke, ht = bw$ht)
mis$lwt[sample(n, round(0.15 * n))] <- NA
mis$smoke[sample(n, round(0.10 * n))] <- NA
mis$race[sample(n, round(0.12 * n))] <- NA
write_csv_full(mis, "birthwt_mis.csv")

d <- mis[, -1]
d$race <- factor(d$race, levels = c("white", "black", "other"))
d$smoke <- factor(d$smoke, levels = c(0, 1))
d$low <- factor(d$low, levels = c(0, 1))
m <- 40
imp <- mice(d, m = m, maxit = 10, seed = 20261121, printFlag = FALSE)
fits <- with(imp, glm(low ~ age + lwt + race + smoke + ht, family = binomial))
pl <- pool(fits)
s <- summary(pl, conf.int = TRUE)
per <- lapply(fits$analyses, function(f) list(coef = I(num(coef(f))), vcov = unname(vcov(f))))
## complete-case fit for comparison
cc <- glm(low ~ age + lwt + race + smoke + ht, family = binomial, data = d)
## pooled AUC: Rubin's rules on logit(AUC) with the DeLong variance (delta method), as psfmi
suppressPackageStartupMessages(library(pROC))
aucs <- sapply(fits$analyses, function(f) { r <- roc(f$y, fitted(f), levels = c(0, 1), direction = "<", quiet = TRUE)
  c(num(r$auc), num(var(r))) })
la <- log(aucs[1, ] / (1 - aucs[1, ])); lv <- aucs[2, ] / (aucs[1, ] * (1 - aucs[1, ]))^2
qb <- mean(la); ub <- mean(lv); bb <- var(la); tt <- ub + (1 + 1 / m) * bb
write_json_file(list(versions = versions_block(c("stats", "mice", "pROC")), m = m, maxit = 10,
  methods = as.list(imp$method), n = n, nmis = as.list(colSums(is.na(d))),
  terms = I(as.character(s$term)),
  pooled = list(estimate = I(num(s$estimate)), std_error = I(num(s$std.error)), statistic = I(num(s$statistic)),
                df = I(num(s$df)), p = I(num(s$p.value)), ci_low = I(num(s[["2.5 %"]])), ci_high = I(num(s[["97.5 %"]])),
                ubar = I(num(pl$pooled$ubar)), b = I(num(pl$pooled$b)), t = I(num(pl$pooled$t)),
                riv = I(num(pl$pooled$riv)), lambda = I(num(pl$pooled$lambda)), fmi = I(num(pl$pooled$fmi)),
                dfcom = num(pl$pooled$dfcom[1])),
  per_imputation = per,
  complete_case = list(n = nobs(cc), coef = I(num(coef(cc)))),
  pooled_auc = list(auc = plogis(qb), ci = I(plogis(qb + c(-1, 1) * qnorm(0.975) * sqrt(tt))),
                    logit_qbar = qb, logit_t = tt, per_imputation = I(num(aucs[1, ])))), "mice.json")
