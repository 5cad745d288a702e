# Ridge (L2-penalised) logistic regression in base R, written to DRUM's R hooks: fit() standardises the numeric
# columns and minimises the penalised log-loss with optim's BFGS; score() returns one probability column per class.

standardised <- function(X, model) {
  Z <- sweep(sweep(as.matrix(X[, model$columns, drop = FALSE]), 2, model$centers), 2, model$scales, "/")
  Z[is.na(Z)] <- 0  # a missing value scores as its column's training mean
  Z
}

fit <- function(X, y, output_dir, class_order = NULL, row_weights = NULL, parameters = NULL, ...) {
  lambda <- if (is.null(parameters$lambda)) 1 else as.numeric(parameters$lambda)
  maxit <- if (is.null(parameters$maxit)) 100 else as.integer(parameters$maxit)
  classes <- if (is.null(class_order)) sort(unique(as.character(y))) else as.character(class_order)
  X <- as.matrix(X)
  centers <- colMeans(X, na.rm = TRUE)
  scales <- apply(X, 2, sd, na.rm = TRUE)
  centers[is.na(centers)] <- 0
  scales[is.na(scales) | scales == 0] <- 1
  model <- list(columns = colnames(X), centers = centers, scales = scales, classes = classes)

  A <- cbind(1, standardised(X, model))
  # read.csv turns "True"/"False" into TRUE/FALSE, so labels are compared without case
  target <- as.numeric(tolower(as.character(unlist(y))) == tolower(classes[2]))
  w <- if (is.null(row_weights)) rep(1, nrow(A)) else as.numeric(unlist(row_weights))
  w <- w / mean(w)
  n <- nrow(A)
  penalty <- function(beta) c(0, beta[-1])  # the intercept is not penalised
  loss <- function(beta) {
    eta <- drop(A %*% beta)
    sum(w * (pmax(eta, 0) + log1p(exp(-abs(eta))) - target * eta)) / n + lambda * sum(penalty(beta)^2) / (2 * n)
  }
  gradient <- function(beta) drop(crossprod(A, w * (plogis(drop(A %*% beta)) - target))) / n + lambda * penalty(beta) / n
  found <- optim(rep(0, ncol(A)), loss, gradient, method = "BFGS", control = list(maxit = maxit))
  model$beta <- found$par
  saveRDS(model, file = file.path(output_dir, "artifact.rds"))
  cat(sprintf("r_ridge_logistic: lambda=%g, %d columns, %d gradient evaluations, log-loss %.3f on %d rows\n",
              lambda, ncol(X), found$counts[["gradient"]], found$value, n))
}

score <- function(data, model, ...) {
  p <- plogis(drop(cbind(1, standardised(data, model)) %*% model$beta))
  out <- data.frame(1 - p, p)
  names(out) <- model$classes
  out
}
