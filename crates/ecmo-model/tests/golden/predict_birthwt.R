## predict_birthwt.R -- R reference for ecmo-model predictions (probability and
## 95 % CI by the delta method on the logit scale).
## Run from this folder:  Rscript predict_birthwt.R   (writes predict_birthwt.json)
## Reads ../../../../../shared/golden/birthwt.csv (MASS::birthwt as CSV).
bw <- read.csv(file.path("..", "..", "..", "..", "..", "shared", "golden", "birthwt.csv"))
fit <- glm(low ~ age + log(lwt) + smoke + I(ptl / 2), family = binomial, data = bw)
newdata <- data.frame(age = c(19, 30, 45), lwt = c(110, 182, 250), smoke = c(1, 0, 1), ptl = c(0, 1, 3))
pr <- predict(fit, newdata = newdata, type = "link", se.fit = TRUE)
z <- qnorm(0.975)
num <- function(x) formatC(x, digits = 17, format = "g")
vec <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")
V <- vcov(fit)
rows <- sapply(seq_len(nrow(V)), function(i) vec(V[i, ]))
cases <- sapply(seq_len(nrow(newdata)), function(i) {
  sprintf('{"age": %s, "lwt": %s, "smoke": %s, "ptl": %s, "eta": %s, "se": %s, "p": %s, "lo": %s, "hi": %s}',
          num(newdata$age[i]), num(newdata$lwt[i]), num(newdata$smoke[i]), num(newdata$ptl[i]),
          num(pr$fit[i]), num(pr$se.fit[i]), num(plogis(pr$fit[i])),
          num(plogis(pr$fit[i] - z * pr$se.fit[i])), num(plogis(pr$fit[i] + z * pr$se.fit[i])))
})
out <- sprintf('{\n"r_version": "%s",\n"formula": "low ~ age + log(lwt) + smoke + I(ptl / 2)",\n"n": %d,\n"events": %d,\n"coef": %s,\n"vcov": [%s],\n"cases": [%s]\n}\n',
               R.version.string, nrow(bw), sum(bw$low), vec(coef(fit)), paste(rows, collapse = ",\n"),
               paste(cases, collapse = ",\n"))
writeLines(out, "predict_birthwt.json", sep = "")
