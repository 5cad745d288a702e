"""The `taskbench` command: one typer app, one module per command group, each thin over `core`."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from core import settings

from . import blueprint as blueprint_command
from . import demo as demo_command
from . import doctor as doctor_command
from . import env as env_command
from . import fit as fit_command
from . import score as score_command
from . import insights as insights_command
from . import project as project_command
from . import train as train_command
from . import tune as tune_command
from . import jobs as jobs_command
from . import task as task_command
from . import predict as predict_command
from . import deploy as deploy_command
from . import workspace as workspace_command
from . import share as share_command


NO_BREAK_HYPHEN = "\u2011"


class TaskbenchHelpFormatter(TyperCommand.context_class.formatter_class):
    """Help that wraps only at spaces: an option name such as --positive-class-label is never split at its hyphens
    (textwrap breaks words there by default); hyphens are non-breaking while wrapping and plain again after. A
    required argument reads DATA in the usage line, like every placeholder, not typer's {DATA}."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        args = re.sub(r"\{([^{}\s]+)\}", r"\1", args)
        super().write_usage(prog, args.replace("-", NO_BREAK_HYPHEN), prefix)

    def write_text(self, text: str) -> None:
        super().write_text(text.replace("-", NO_BREAK_HYPHEN))

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(a, b.replace("-", NO_BREAK_HYPHEN)) for a, b in rows], col_max, col_spacing)

    def getvalue(self) -> str:
        return super().getvalue().replace(NO_BREAK_HYPHEN, "-")


TyperCommand.context_class.formatter_class = TaskbenchHelpFormatter  # typer's click: every command's help


class TaskbenchGroup(TyperGroup):
    """The command group: a full disk met anywhere in a command ends it with one sentence, not a traceback."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except typer.TyperException as exc:  # typer's own click: its ClickException
            raise _lowercase_error(exc) from exc.__cause__

    def invoke(self, ctx):
        import click

        try:
            return super().invoke(ctx)
        except typer.TyperException as exc:
            raise _lowercase_error(exc) from exc.__cause__
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.Abort):
            raise  # already said
        except Exception as exc:
            from .common import stop_if_disk_full

            stop_if_disk_full(exc, (ctx.obj or {}).get("home"))
            raise


# DRUM's flags that taskbench spells otherwise: (command, flag) -> what to type instead, said in place of click's
# bare "No such option".
DRUM_FLAGS = {
    ("serve", "--address"): "taskbench serve takes --host HOST --port PORT (DRUM's --address HOST:PORT).",
    ("serve", "--max-workers"): "taskbench serve takes --workers N (DRUM's --max-workers N).",
}


def _drum_flag_hint(exc) -> None:
    """An unknown option that is one of DRUM's (DRUM_FLAGS): its message says what taskbench takes instead."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ != "NoSuchOption" or ctx is None:  # typer's own click's, or click's
        return
    hint = DRUM_FLAGS.get((ctx.info_name, exc.option_name.partition("=")[0]))
    if hint:
        exc.message = f"No such option: {exc.option_name}; {hint}"
        exc.possibilities = None


def _lowercase_error(exc):
    """Click's own usage errors (a bad option, a did-you-mean) end in `Error: …`; ours say `error: …`, so the
    exception prints click's usage and hint unchanged and its last sentence in our form."""
    import io

    _drum_flag_hint(exc)
    shown = getattr(exc, "show", None)
    if shown is None:
        return exc

    def show(file=None) -> None:
        text = io.StringIO()
        shown(file=text)
        head, mark, message = text.getvalue().rpartition("Error: ")
        typer.echo(f"{head}error: {message}" if mark else text.getvalue(), file=file or typer.get_text_stream("stderr"),
                   nl=False)

    exc.show = show
    return exc


app = typer.Typer(
    name="taskbench",
    cls=TaskbenchGroup,
    help="A terminal workbench for custom ML tasks: check, register, compose, train, deploy.",
    invoke_without_command=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    """`taskbench --version`: the installed distribution's version, as pip knows it."""
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("taskbench")
    except PackageNotFoundError:
        found = "unknown (not installed; run pip install -e .)"
    typer.echo(f"taskbench {found}")
    raise typer.Exit(0)


@app.callback()
def main(
    ctx: typer.Context,
    home: Annotated[
        Optional[Path],
        typer.Option("--home", help="Workspace folder (default: $TASKBENCH_HOME or ~/.taskbench).", envvar=settings.HOME.name,
                     readable=False),  # a shared workspace a non-member cannot enter is told so by the engine
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print taskbench's version and exit.", is_eager=True, callback=_print_version),
    ] = False,
) -> None:
    """Taskbench: run DRUM-style custom tasks from a terminal. With no command, opens the workbench."""
    ctx.obj = {"home": home}
    if ctx.invoked_subcommand is None:
        from core import workspace
        from core.errors import TaskbenchError
        from tui.app import run_app

        from .common import fail

        try:  # a non-member (or an impersonation) is told so here, before a screen opens
            workspace.enter(workspace.home(home))
        except TaskbenchError as exc:
            fail(exc.message, exc.exit_code)
        run_app(home)


# One whole sentence per command for `taskbench --help` (click cuts a longer help mid-sentence at 80 columns).
SHORT_HELP = {
    "fit": "Check a task folder the way training will use it.",
    "score": "Score a file with a fitted task folder (drum score).",
    "task": "Register task folders as versions; list, show, diff.",
    "project": "Projects: a data set, a target and fixed partitions.",
    "blueprint": "Check, format, save and show blueprints.",
    "train": "Train blueprints, templates or the autopilot.",
    "tune": "Tune a trained model's hyperparameters.",
    "leaderboard": "A project's models, best first.",
    "insights": "A model's scores, feature impact, ROC or residuals.",
    "artifacts": "List or copy a model's artifact files.",
    "demo": "Run the whole workflow on bundled data.",
    "doctor": "Check what this machine can do for taskbench.",
    "env": "Environments tasks run in: list, add, build.",
    "workspace": "Create a shared workspace, or show this one.",
    "jobs": "List jobs, newest first.",
    "logs": "Print a job's log (--follow to keep reading).",
    "predict": "Score a CSV or Parquet file with a trained model.",
    "deploy": "Publish a trained model as a named deployment.",
    "serve": "Serve a deployment over HTTP with DRUM's routes.",
    "deployments": "List deployments with their counts and latency.",
    "undeploy": "Delete a deployment and its monitoring history.",
    "export": "Write a trained model as a self-contained package.",
    "share": "Give a member read or write on an object you own.",
    "unshare": "Take back a member's share of an object you own.",
    "shares": "List who has what: every share, or one object's.",
}

app.command(name="fit", help=fit_command.HELP, no_args_is_help=True)(fit_command.fit)
app.command(name="score", help=score_command.HELP, no_args_is_help=True)(score_command.score)
app.add_typer(task_command.app, name="task")
app.add_typer(project_command.app, name="project")
app.add_typer(blueprint_command.app, name="blueprint")
app.command(name="train", help=train_command.TRAIN_HELP, no_args_is_help=True)(train_command.train)
app.command(name="tune", help=tune_command.HELP, no_args_is_help=True)(tune_command.tune)
app.command(name="leaderboard", no_args_is_help=True)(train_command.leaderboard)
app.command(name="insights", help=insights_command.INSIGHTS_HELP, no_args_is_help=True)(insights_command.insights)
app.command(name="artifacts", help=insights_command.ARTIFACTS_HELP, no_args_is_help=True)(insights_command.artifacts)
app.command(name="demo", help=demo_command.HELP)(demo_command.demo)
app.command(name="doctor", help=doctor_command.HELP)(doctor_command.doctor)
app.add_typer(env_command.app, name="env")
app.add_typer(workspace_command.app, name="workspace")
app.command(name="jobs", help=jobs_command.JOBS_HELP)(jobs_command.jobs)
app.command(name="logs", help=jobs_command.LOGS_HELP, no_args_is_help=True)(jobs_command.logs)
app.command(name="predict", help=predict_command.HELP, no_args_is_help=True)(predict_command.predict)
app.command(name="deploy", help=deploy_command.DEPLOY_HELP, no_args_is_help=True)(deploy_command.deploy)
app.command(name="serve", help=deploy_command.SERVE_HELP, no_args_is_help=True)(deploy_command.serve)
app.command(name="deployments", help=deploy_command.DEPLOYMENTS_HELP)(deploy_command.deployments)
app.command(name="undeploy", help=deploy_command.UNDEPLOY_HELP, no_args_is_help=True)(deploy_command.undeploy)
app.command(name="export", help=deploy_command.EXPORT_HELP, no_args_is_help=True)(deploy_command.export)
app.command(name="share", help=share_command.SHARE_HELP, no_args_is_help=True)(share_command.share)
app.command(name="unshare", help=share_command.UNSHARE_HELP, no_args_is_help=True)(share_command.unshare)
app.command(name="shares", help=share_command.SHARES_HELP)(share_command.shares)
for _info in [*app.registered_commands, *app.registered_groups]:
    _info.short_help = SHORT_HELP[_info.name]


def _expand_multi_value_flags(argv: list[str]) -> list[str]:
    """Accept DRUM's `--class-labels a b c` by turning it into repeated `--class-labels` options."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--class-labels":
            i += 1
            while i < len(argv) and not argv[i].startswith("-"):
                out += ["--class-labels", argv[i]]
                i += 1
            continue
        out.append(arg)
        i += 1
    return out


def _hoist_home(argv: list[str]) -> list[str]:
    """Accept `--home DIR` anywhere (`taskbench leaderboard P --home DIR`) by moving it before the sub-command."""
    for i, arg in enumerate(argv):
        if arg == "--home" and i + 1 < len(argv):
            return ["--home", argv[i + 1], *argv[:i], *argv[i + 2 :]]
        if arg.startswith("--home="):
            return [arg, *argv[:i], *argv[i + 1 :]]
    return argv


def normalize_argv(argv: list[str]) -> list[str]:
    """The command line as typer parses it: DRUM's multi-value flags expanded, `--home` first."""
    return _hoist_home(_expand_multi_value_flags(argv))


def run() -> None:
    """Console-script entry point: an engine bug is one sentence on screen, its traceback in logs/cli.log."""
    sys.argv[1:] = normalize_argv(sys.argv[1:])
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - what a command did not turn into a sentence is a bug of ours
        _internal_error(exc, sys.argv[1:])


def _internal_error(exc: Exception, argv: list[str]) -> None:
    """Say what broke in one sentence and where its traceback went, then exit 1; a user's error stays its sentence."""
    from core import log, workspace
    from core.errors import TaskbenchError

    from rich.markup import escape

    from .common import error_console

    if isinstance(exc, TaskbenchError):
        error_console().print(f"[bold red]error:[/] {escape(exc.message)}")
        raise SystemExit(exc.exit_code)
    home = argv[1] if len(argv) > 1 and argv[0] == "--home" else None
    root = workspace.home(home)
    log.to_workspace(root, "cli").error("taskbench %s failed", " ".join(argv), exc_info=exc)
    if isinstance(exc, PermissionError) and exc.filename:  # a path the user named that they may not use
        error_console().print(f"[bold red]error:[/] you ({escape(workspace.current_user())}) may not use "
                              f"{escape(str(exc.filename))} (permission denied); give a file or folder you may "
                              "read and write.")
        raise SystemExit(2)
    where = root / workspace.LOGS / "cli.log"
    detail = escape(f"{type(exc).__name__}: {exc}".strip().rstrip(":"))
    error_console().print(
        f"[bold red]error:[/] taskbench hit an internal error ({detail}); the traceback is in {escape(str(where))}. "
        "This is a bug in taskbench, not in your input: please report it with that file."
    )
    raise SystemExit(1)
