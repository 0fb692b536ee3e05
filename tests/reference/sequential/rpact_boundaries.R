# Reference boundaries for tests/test_sequential.py, computed with R 4.2.2 and rpact 3.3.4
# (Debian packages r-base-core and r-cran-rpact):  Rscript rpact_boundaries.R > rpact_boundaries.json
# Two-sided symmetric designs, Lan-DeMets alpha spending: typeOfDesign "asOF" (O'Brien-Fleming
# type) and "asP" (Pocock type). rpact's stageLevels are one-sided: the two-sided nominal level
# is twice that. A critical value rpact reports as Inf (it caps them; 1/12 of the information
# with O'Brien-Fleming spends 1.6e-14) is written as null and not compared.
library(rpact)
cases <- list(
  list(t = seq(0.2, 1, by = 0.2), alpha = 0.05, type = "asOF"),
  list(t = seq(0.2, 1, by = 0.2), alpha = 0.05, type = "asP"),
  list(t = c(0.1, 0.25, 0.6, 0.7, 1), alpha = 0.05, type = "asOF"),
  list(t = c(0.1, 0.25, 0.6, 0.7, 1), alpha = 0.05, type = "asP"),
  list(t = (1:6) / 6, alpha = 0.05, type = "asOF"),
  list(t = (1:6) / 6, alpha = 0.05, type = "asP"),
  list(t = (1:12) / 12, alpha = 0.05, type = "asOF"),
  list(t = c(1, 2, 3, 5, 8) / 8, alpha = 0.05, type = "asOF"),
  list(t = (1:4) / 4, alpha = 0.10, type = "asOF"),
  list(t = (1:3) / 3, alpha = 0.01, type = "asP")
)
num <- function(x) ifelse(is.finite(x), sprintf("%.10g", x), "null")  # rpact reports Inf above its cap
out <- lapply(cases, function(cs) {
  d <- getDesignGroupSequential(informationRates = cs$t, alpha = cs$alpha, sided = 2,
                                typeOfDesign = cs$type)
  call <- sprintf("getDesignGroupSequential(informationRates = c(%s), alpha = %s, sided = 2, typeOfDesign = \"%s\")",
                  paste(format(cs$t, digits = 15), collapse = ", "), cs$alpha, cs$type)
  sprintf('{"call": "%s", "information_fractions": [%s], "alpha": %s, "spending": "%s", "critical_z": [%s], "cumulative_alpha": [%s], "one_sided_stage_levels": [%s]}',
          gsub('"', '\\\\"', call), paste(sprintf("%.15g", cs$t), collapse = ", "), cs$alpha,
          if (cs$type == "asOF") "obrien_fleming" else "pocock",
          paste(num(d$criticalValues), collapse = ", "),
          paste(sprintf("%.10g", d$alphaSpent), collapse = ", "),
          paste(sprintf("%.10g", d$stageLevels), collapse = ", "))
})
cat(sprintf('{"source": "R %s, rpact %s", "cases": [\n%s\n]}\n', getRversion(), packageVersion("rpact"),
            paste(unlist(out), collapse = ",\n")))
