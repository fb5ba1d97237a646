## fastbw.R -- golden rms::fastbw (rule "aic", type "residual") and rms::validate(bw = TRUE)
## on MASS::birthwt, full model low ~ age + lwt + race + smoke + ptl + ht + ui + ftv.
## Run: Rscript fastbw.R    Writes: fastbw.json
## validate() resamples with R's RNG, so its figures are repeated over 10 seeds; the test
## compares ecmo's optimism with their mean within Monte-Carlo error.
suppressPackageStartupMessages(library(rms))
source("helpers.R")
bw <- read.csv("birthwt.csv")
bw$race <- factor(bw$race, levels = 1:3, labels = c("white", "black", "other"))
f <- lrm(low ~ age + lwt + race + smoke + ptl + ht + ui + ftv, data = bw, x = TRUE, y = TRUE)
fb <- fastbw(f, rule = "aic", type = "residual")
res <- fb$result
B <- 200
seeds <- 1:10
val <- lapply(seeds, function(s) { set.seed(s); v <- validate(f, B = B, bw = TRUE, rule = "aic", type = "residual")
  list(index = I(rownames(v)), apparent = I(num(v[, "index.orig"])), optimism = I(num(v[, "optimism"])),
       corrected = I(num(v[, "index.corrected"])), n = I(num(v[, "n"]))) })
write_json_file(list(versions = versions_block(c("stats", "rms")),
  coef_full = I(num(coef(f))), names_full = I(names(coef(f))),
  deleted = I(rownames(res)), kept = I(fb$names.kept),
  chisq = I(num(res[, "Chi-Sq"])), df = I(num(res[, "d.f."])), p = I(num(res[, 3])),
  residual = I(num(res[, "Residual"])), residual_df = I(num(res[, 5])), aic = I(num(res[, "AIC"])),
  approx_coef = I(num(fb$coefficients)), approx_coef_names = I(names(fb$coefficients)),
  validate_B = B, validate = val), "fastbw.json")
