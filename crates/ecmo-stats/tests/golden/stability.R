## stability.R -- golden selection stability: MASS::stepAIC (backward, k = 2) rerun on B
## bootstrap resamples of MASS::birthwt (full model low ~ age + lwt + race + smoke + ptl + ht
## + ui + ftv). R's random numbers differ from ecmo's, so the test compares inclusion
## frequencies within Monte-Carlo error.   Run: Rscript stability.R   Writes: stability.json
suppressPackageStartupMessages(library(MASS))
source("helpers.R")
bw <- read.csv("birthwt.csv")
bw$race <- factor(bw$race, levels = 1:3, labels = c("white", "black", "other"))
terms <- c("age", "lwt", "race", "smoke", "ptl", "ht", "ui", "ftv")
B <- 500
set.seed(20261121)
sel <- t(replicate(B, {
  i <- sample.int(nrow(bw), replace = TRUE)
  f <- glm(low ~ age + lwt + race + smoke + ptl + ht + ui + ftv, binomial, bw[i, ])
  kept <- attr(terms(stepAIC(f, direction = "backward", trace = 0)), "term.labels")
  terms %in% kept
}))
colnames(sel) <- terms
write_json_file(list(versions = versions_block(c("stats", "MASS")), replicates = B, terms = I(terms),
                     proportion = I(num(colMeans(sel))),
                     mean_model_size = mean(rowSums(sel))), "stability.json")
