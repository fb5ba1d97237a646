## competing_risks.R -- golden cumulative incidence (Aalen-Johansen, cmprsk::cuminc with its
## variance), Gray's test and Fine-Gray regression (cmprsk::crr) on survival::mgus2.
## Run from this folder:  Rscript competing_risks.R     Writes: mgus2.csv, competing_risks.json
## mgus2 (survival package): time = months to progression (PCM) if it came first, else to
## death/last contact; cause 1 = progression to plasma-cell malignancy, 2 = death, 0 = censored.
suppressPackageStartupMessages({ library(survival); library(cmprsk) })
source("helpers.R")

d <- survival::mgus2
d$etime <- with(d, ifelse(pstat == 0, futime, ptime))
d$cause <- with(d, ifelse(pstat == 0, 2 * death, 1))
d$male <- as.integer(d$sex == "M")
d$agegrp <- cut(d$age, c(0, 60, 75, Inf), labels = c("<60", "60-75", ">75"), right = FALSE)
write_csv_full(data.frame(row = seq_len(nrow(d)), id = d$id, etime = d$etime, cause = d$cause,
                          sex = as.character(d$sex), male = d$male, age = d$age,
                          agegrp = as.character(d$agegrp), hgb = d$hgb, mspike = d$mspike), "mgus2.csv")

cif_block <- function(ci) {
  out <- lapply(names(ci)[names(ci) != "Tests"], function(nm) {
    x <- ci[[nm]]
    ## cuminc returns the corners of the step function; keep the value after each jump
    ## (every second entry from the 3rd) and the last (carried to the largest time)
    list(name = nm, time = I(x$time), est = I(x$est), var = I(x$var))
  })
  names(out) <- names(ci)[names(ci) != "Tests"]
  res <- list(curves = out)
  if (!is.null(ci$Tests)) res$tests <- list(cause = I(rownames(ci$Tests)), stat = I(num(ci$Tests[, "stat"])),
                                           p = I(num(ci$Tests[, "pv"])), df = I(num(ci$Tests[, "df"])))
  res
}

ci_all <- cuminc(d$etime, d$cause)
ci_sex <- cuminc(d$etime, d$cause, d$sex)
ci_age <- cuminc(d$etime, d$cause, d$agegrp)
tp <- timepoints(ci_sex, c(12, 60, 120, 240))

crr_block <- function(fit) {
  se <- sqrt(diag(fit$var)); z <- fit$coef / se   # summary.crr rounds its p-values
  list(coef = I(num(fit$coef)), se = I(num(se)), var = fit$var,
       z = I(num(z)), p = I(num(2 * pnorm(-abs(z)))),
       loglik = fit$loglik, loglik_null = fit$loglik.null, converged = fit$converged,
       n = fit$n)
}
X <- cbind(age = d$age, male = d$male)
fg1 <- crr(d$etime, d$cause, X, failcode = 1, cencode = 0)
fg2 <- crr(d$etime, d$cause, X, failcode = 2, cencode = 0)
## the naive (model-based) variance of crr: inverse information
write_json_file(list(versions = versions_block(c("survival", "cmprsk")),
  conventions = paste("cuminc: time/est/var are the corners of the step function (0 at time 0; each jump",
                      "time appears twice, before and after the jump; the last entry is carried to the largest time)."),
  cif_overall = cif_block(ci_all), cif_by_sex = cif_block(ci_sex), cif_by_agegrp = cif_block(ci_age),
  timepoints_by_sex = list(times = I(c(12, 60, 120, 240)), est = tp$est, var = tp$var),
  finegray_pcm = crr_block(fg1), finegray_death = crr_block(fg2)), "competing_risks.json")
