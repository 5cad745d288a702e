# Taskbench's R bridge: runs one R task's hooks (custom.R) for the Python worker.
#
# Requests arrive on the descriptor named by the first argument, one R expression per line, built by
# core/runtime/rtask.py; each is answered by one JSON line on the descriptor named by the second.
# (stdin is /dev/null, so task code that reads it cannot take the bridge's requests.)
# Frames travel as CSV files (sparse ones as MatrixMarket), written and read here with
# the column classes the Python side names, so no value changes type on the way.
# Anything the task prints goes to stdout/stderr, which the worker streams to the log.

options(warn = 1, keep.source = FALSE, stringsAsFactors = FALSE)

.tb <- new.env()
.tb$models <- list()
.tb$next_id <- 0L
.tb$calls <- NULL
.tb$na <- "__taskbench_NA__"
.tb$hook_names <- c("init", "fit", "transform", "score", "load_model", "post_process", "read_input_data")


.json_str <- function(x) {
    x <- enc2utf8(as.character(x))
    x <- gsub("[\001-\010\013\014\016-\037]", " ", x, useBytes = FALSE)
    encodeString(x, quote = '"')
}

.json <- function(value) {
    if (is.null(value)) return("null")
    if (is.list(value)) {
        keys <- names(value)
        if (is.null(keys)) {
            return(paste0("[", paste(vapply(value, .json, ""), collapse = ","), "]"))
        }
        parts <- mapply(function(k, v) paste0(.json_str(k), ":", .json(v)), keys, value)
        return(paste0("{", paste(parts, collapse = ","), "}"))
    }
    if (is.logical(value) && length(value) == 1) return(if (isTRUE(value)) "true" else "false")
    if (is.numeric(value) && length(value) == 1) return(format(value, digits = 17))
    if (length(value) == 1) return(.json_str(value))
    paste0("[", paste(vapply(as.character(value), .json_str, ""), collapse = ","), "]")
}

.reply <- function(...) {
    writeLines(.json(list(...)), .tb$reply_con, useBytes = TRUE)
    flush(.tb$reply_con)
}

# ---------------------------------------------------------------- data in

.read_columns <- function(binary, table, names, classes, nrow) {
    # Numbers arrive as raw columns (readBin), text and logicals as one CSV; reassembled in their order.
    columns <- vector("list", length(names))
    numeric_at <- which(classes %in% c("numeric", "integer"))
    if (length(numeric_at) > 0) {
        con <- file(binary, "rb")
        on.exit(close(con))
        for (i in numeric_at) {
            columns[[i]] <- if (classes[[i]] == "integer") readBin(con, "integer", nrow, size = 4L)
                            else readBin(con, "double", nrow, size = 8L)
        }
    }
    text_at <- which(!(classes %in% c("numeric", "integer")))
    if (length(text_at) > 0) {
        text <- utils::read.csv(table, colClasses = "character", na.strings = .tb$na, check.names = FALSE,
                                quote = "\"", comment.char = "", encoding = "UTF-8", strip.white = FALSE)
        for (k in seq_along(text_at)) columns[[text_at[[k]]]] <- text[[k]]
    }
    structure(columns, names = names, class = "data.frame",
              row.names = if (nrow > 0) c(NA_integer_, -as.integer(nrow)) else integer())
}

.read_sparse <- function(path, names_path) {
    m <- Matrix::readMM(path)
    m <- methods::as(m, "TsparseMatrix")
    colnames(m) <- readLines(names_path, encoding = "UTF-8")
    m
}

.model <- function(id) .tb$models[[id]]

# ---------------------------------------------------------------- data out

.class_of <- function(column) {
    if (is.logical(column)) return("logical")
    if (is.integer(column) && !is.factor(column)) return("integer")
    if (is.numeric(column)) return("numeric")
    "character"
}

.write_frame <- function(frame, path) {
    if (methods::is(frame, "sparseMatrix")) {
        m <- methods::as(frame, "TsparseMatrix")
        Matrix::writeMM(m, path)
        names <- colnames(m)
        if (is.null(names)) names <- paste0("X", seq_len(ncol(m)))
        writeLines(enc2utf8(names), paste0(path, ".names"), useBytes = TRUE)
        return(list(kind = "sparse", path = path, rows = nrow(m), columns = ncol(m)))
    }
    frame <- as.data.frame(frame, check.names = FALSE, stringsAsFactors = FALSE)
    classes <- vapply(frame, .class_of, "")
    numeric_at <- which(classes %in% c("numeric", "integer"))
    binary <- NULL
    if (length(numeric_at) > 0) {
        binary <- paste0(path, ".bin")
        con <- file(binary, "wb")
        for (i in numeric_at) {
            column <- frame[[i]]
            if (classes[[i]] == "integer") writeBin(as.integer(column), con, size = 4L)
            else writeBin(as.double(column), con, size = 8L)
        }
        close(con)
    }
    text_at <- which(!(classes %in% c("numeric", "integer")))
    table <- NULL
    if (length(text_at) > 0) {
        table <- path
        out <- lapply(frame[text_at], function(column) if (is.factor(column)) as.character(column) else column)
        out <- structure(out, names = names(frame)[text_at], class = "data.frame", row.names = attr(frame, "row.names"))
        utils::write.table(out, table, sep = ",", quote = which(classes[text_at] == "character"), na = .tb$na,
                           row.names = FALSE, col.names = TRUE, qmethod = "double", fileEncoding = "UTF-8")
    }
    list(kind = "frame", numbers = binary, table = table, classes = unname(as.list(classes)),
         names = as.list(names(frame)), rows = nrow(frame))
}

.describe <- function(value) {
    cls <- class(value)
    if (is.null(value)) return("NULL")
    paste0("an R ", paste(cls, collapse = "/"))
}

# ---------------------------------------------------------------- calling the task

.task_dir <- NULL

.frames <- function(calls) {
    # The task's own frames: calls whose source reference lies in the task folder.
    out <- character()
    last <- NULL
    for (call in calls) {
        ref <- attr(call, "srcref")
        if (is.null(ref)) next
        file <- attr(ref, "srcfile")$filename
        if (is.null(file) || !startsWith(normalizePath(file, mustWork = FALSE), .task_dir)) next
        rel <- substring(normalizePath(file, mustWork = FALSE), nchar(.task_dir) + 2L)
        text <- deparse(call, width.cutoff = 80L, nlines = 1L)
        out <- c(out, sprintf("  %s line %d: %s", rel, ref[[1]], text))
        last <- sprintf("%s line %d", rel, ref[[1]])
    }
    list(lines = out, location = last)
}

.FAILED <- structure(list(), class = "taskbench_failed")
.failed <- function(x) inherits(x, "taskbench_failed")

.run <- function(what, expr_fn) {
    # Calls expr_fn(); on an error, replies with it (message, the task's frames) and returns .FAILED.
    .tb$calls <- NULL
    result <- tryCatch(
        withCallingHandlers(expr_fn(), error = function(e) {
            .tb$calls <- sys.calls()
        }),
        error = function(e) structure(list(error = e), class = "taskbench_error")
    )
    if (inherits(result, "taskbench_error")) {
        e <- result$error
        frames <- .frames(.tb$calls)
        message <- conditionMessage(e)
        package <- if (inherits(e, "packageNotFoundError")) e$package else NULL
        if (is.null(package)) {
            m <- regmatches(message, regexec("there is no package called .(.+).$", message))[[1]]
            if (length(m) == 2) package <- m[[2]]
        }
        .reply(status = "error", hook = what, message = message,
               call = if (is.null(conditionCall(e))) NULL else deparse(conditionCall(e), nlines = 1L),
               location = frames$location, traceback = as.list(frames$lines), package = package)
        return(.FAILED)
    }
    result
}

.accepts <- function(fn, args) {
    formal <- names(formals(fn))
    if ("..." %in% formal) return(args)
    named <- names(args)
    if (is.null(named)) return(args)  # positional only
    keep <- named == "" | named %in% formal
    args[keep]
}

.tb$tasks <- list()
.tb$task <- NULL

.user <- function(name) get0(name, envir = .tb$task$env, mode = "function", inherits = FALSE)

.use <- function(id) {
    # Every request names its task: one R process may hold several tasks of a blueprint.
    .tb$task <- .tb$tasks[[id]]
    .task_dir <<- .tb$task$dir
}

op_load <- function(id, code_dir, custom_file, requirements) {
    .task_dir <<- normalizePath(code_dir)
    missing <- requirements[!vapply(requirements, function(p) nzchar(system.file(package = p)), TRUE)]
    if (length(missing) > 0) {
        .reply(status = "missing", packages = as.list(missing), r_version = R.version.string,
               libraries = as.list(.libPaths()))
        return(invisible(NULL))
    }
    .tb$tasks[[id]] <- list(env = new.env(parent = globalenv()), dir = .task_dir)
    .use(id)
    done <- .run(paste("loading", custom_file), function() {
        sys.source(file.path(code_dir, custom_file), envir = .tb$task$env, keep.source = TRUE)
        TRUE
    })
    if (.failed(done)) return(invisible(NULL))
    hooks <- .tb$hook_names[vapply(.tb$hook_names, function(h) !is.null(.user(h)), TRUE)]
    .reply(status = "ok", hooks = as.list(hooks), r_version = R.version.string)
}

op_call <- function(id, hook, args, returns = "none", out = NULL) {
    .use(id)
    fn <- .user(hook)
    value <- .run(hook, function() do.call(fn, .accepts(fn, args)))
    if (.failed(value)) return(invisible(NULL))
    .answer(hook, value, returns, out)
}

.answer <- function(hook, value, returns, out) {
    if (returns == "frame") {
        if (!(is.data.frame(value) || methods::is(value, "sparseMatrix"))) {
            .reply(status = "error", hook = hook, kind = "type",
                   message = sprintf("%s returned %s; it must return a data.frame", hook, .describe(value)))
            return(invisible(NULL))
        }
        written <- .run(paste("writing the output of", hook), function() .write_frame(value, out))
        if (.failed(written)) return(invisible(NULL))
        return(do.call(.reply, c(list(status = "ok"), written)))
    }
    .reply(status = "ok")
}

op_load_model <- function(id, model_dir, target_type) {
    .use(id)
    model <- NULL
    fn <- .user("load_model")
    if (!is.null(fn)) {
        model <- .run("load_model", function() fn(model_dir))
        if (.failed(model)) return(invisible(NULL))
    }
    if (is.null(model)) {
        files <- dir(model_dir, pattern = "\\.rds$", ignore.case = TRUE)
        if (length(files) == 0 && target_type != "transform") {
            .reply(status = "error", hook = "load_model", kind = "artifact",
                   message = "fit wrote no .rds artifact and custom.R has no load_model hook; save the model with saveRDS(model, file.path(output_dir, 'artifact.rds')) or define load_model(input_dir)")
            return(invisible(NULL))
        }
        if (length(files) > 1) {
            .reply(status = "error", hook = "load_model", kind = "artifact",
                   message = sprintf("fit wrote %d .rds artifacts (%s) and custom.R has no load_model hook to choose; keep one or define load_model(input_dir)",
                                     length(files), paste(files, collapse = ", ")))
            return(invisible(NULL))
        }
        if (length(files) == 1) {
            path <- file.path(model_dir, files[[1]])
            model <- .run(paste("reading", files[[1]]), function() readRDS(path))
            if (.failed(model)) return(invisible(NULL))
        }
    }
    .tb$next_id <- .tb$next_id + 1L
    id <- paste0("m", .tb$next_id)
    .tb$models[id] <- list(model)
    .reply(status = "ok", handle = id)
}

.sanitized <- function(predictions, labels) {
    # R turns class names into syntactic names (make.names) in data frames; map them back, as DRUM does.
    if (is.null(labels) || !is.data.frame(predictions)) return(predictions)
    columns <- names(predictions)
    if (setequal(columns, labels)) return(predictions)
    safe <- make.names(labels)
    if (all(columns %in% safe) && !anyDuplicated(safe)) {
        names(predictions) <- labels[match(columns, safe)]
    }
    predictions
}

op_score <- function(id, data, model, target_type, kwargs, out) {
    .use(id)
    user <- .user("score")
    hook <- if (is.null(user)) "score (R's predict)" else "score"
    value <- .run(hook, function() {
        if (!is.null(user)) {
            predictions <- do.call(user, list(data, model, kwargs))
        } else if (target_type %in% c("binary", "multiclass")) {
            predictions <- data.frame(stats::predict(model, data, type = "prob"), check.names = FALSE)
        } else {
            predictions <- data.frame(stats::predict(model, data))
            names(predictions) <- "Predictions"
        }
        predictions
    })
    if (.failed(value)) return(invisible(NULL))
    post <- .user("post_process")
    if (!is.null(post)) {  # DRUM's post_process(predictions, model), named on its own when it fails
        hook <- "post_process"
        value <- .run(hook, function() post(value, model))
        if (.failed(value)) return(invisible(NULL))
    }
    .answer(hook, .sanitized(value, kwargs$class_labels), "frame", out)
}

op_transform <- function(id, data, model, y, out) {
    .use(id)
    user <- .user("transform")
    hook <- if (is.null(user)) "transform (recipes' bake)" else "transform"
    if (is.null(user) && !inherits(model, "recipe")) {
        .reply(status = "error", hook = "transform", kind = "missing hook",
               message = sprintf("custom.R defines no transform hook and its artifact is %s, not a prepped recipe that bake() can apply; define transform(X, transformer, ...)", .describe(model)))
        return(invisible(NULL))
    }
    value <- .run(hook, function() {
        if (is.null(user)) {
            requireNamespace("recipes", quietly = TRUE)
            as.data.frame(recipes::bake(model, new_data = data), check.names = FALSE)
        } else if ("..." %in% names(formals(user)) || length(formals(user)) >= 3) {
            user(data, model, y)
        } else {
            user(data, model)
        }
    })
    if (.failed(value)) return(invisible(NULL))
    .answer(hook, value, "frame", out)
}

# ---------------------------------------------------------------- the loop

.serve <- function() {
    repeat {
        line <- readLines(.tb$input, n = 1L, warn = FALSE)
        if (length(line) == 0) break
        if (!nzchar(line)) next
        request <- tryCatch(eval(parse(text = line, keep.source = FALSE)), error = function(e) e)
        if (inherits(request, "error")) {
            .reply(status = "error", hook = "bridge", kind = "engine", message = conditionMessage(request))
        }
        if (identical(request, "exit")) break
    }
}

# A zygote (the worker's, with the task's packages loaded once) forks a fresh bridge per step, so a step
# does not pay for R's start and library() again; the fork reads and answers on the two FIFOs it is given.
op_preload <- function(attach, load) {
    # Attached as the task's own library() calls would, in their order (DRUM's R session likewise has
    # caret and recipes attached before custom.R runs); others only loaded.
    loaded <- character()
    for (p in c(attach, load)) {
        ok <- tryCatch(suppressPackageStartupMessages(
            if (p %in% attach) library(p, character.only = TRUE) else loadNamespace(p)), error = function(e) NULL)
        if (!is.null(ok)) loaded <- c(loaded, p)
    }
    .reply(status = "ok", loaded = as.list(loaded))
}

op_fork <- function(requests, replies) {
    child <- parallel:::mcfork(estranged = TRUE)
    if (inherits(child, "masterProcess")) {
        close(.tb$input)
        close(.tb$reply_con)
        .tb$reply_con <- file(replies, open = "w", raw = TRUE)
        .tb$input <- file(requests, open = "r", raw = TRUE)
        .reply(status = "ready", r_version = R.version.string, pid = Sys.getpid())
        .serve()
        parallel:::mcexit(0L)
    }
    .reply(status = "ok", pid = child$pid)
}

.args <- commandArgs(trailingOnly = TRUE)
.tb$input <- file(.args[length(.args) - 1L], open = "r", raw = TRUE)
.tb$reply_con <- file(.args[length(.args)], open = "w", raw = TRUE)
.reply(status = "ready", r_version = R.version.string, pid = Sys.getpid())
.serve()
