"""What the registry commands share: opening the workspace, one-sentence errors, JSON and table output."""

from __future__ import annotations

import io
import json
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from ..numbers import duration, size, when  # noqa: F401 - the CLI modules import them from here

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from core.store import Store


PIPED_WIDTH = 4096


class _NoTrailingSpaces(io.TextIOBase):
    """A text stream that drops the spaces rich pads table rows with before each line end, for pipes and files."""

    def __init__(self, stream):
        self.stream = stream
        self.pending = ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            self.stream.write(line.rstrip(" ") + "\n")
        return len(text)

    def flush(self) -> None:
        if self.pending.strip(" "):  # a line still open (rich ends each print with one, so rarely): out as it is
            self.stream.write(self.pending)
            self.pending = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return False


class _ProseConsole(Console):
    """A terminal's console: prose wraps at spaces, and a word longer than a line (a path, an id, a traceback's
    file name) is printed whole for the terminal to carry on, never split or cut by rich (whose own wrapping
    folds such words, or crops them)."""

    def print(self, *objects, **kwargs) -> None:
        if kwargs.get("width") is None and not kwargs.get("soft_wrap"):
            objects = tuple(self._wrapped(obj, kwargs.get("markup")) for obj in objects)
            kwargs.update(overflow="ignore", crop=False)
        super().print(*objects, **kwargs)

    def _wrapped(self, obj, markup):
        from rich.console import Group
        from rich.text import Text

        if isinstance(obj, Group):
            return Group(*(self._wrapped(part, markup) for part in obj.renderables))
        if isinstance(obj, str):
            obj = self.render_str(obj, markup=markup)
        if not isinstance(obj, Text):
            return obj
        lines = []
        for line in obj.split("\n", allow_blank=True):
            for part in line.divide(_word_breaks(line.plain, self.width)):
                part.rstrip()
                lines.append(part)
        return Text("\n").join(lines)


def _word_breaks(text: str, width: int) -> list[int]:
    """Where to break `text` so that lines stay within `width` cells, at spaces only (a longer word stays whole)."""
    import re

    from rich.cells import cell_len

    breaks, start = [], 0
    for word in re.finditer(r"\S+\s*", text):
        end = word.start() + len(word.group().rstrip())
        if word.start() > start and cell_len(text[start:end]) > width:
            breaks.append(word.start())
            start = word.start()
    return breaks


def console() -> Console:
    """The console for a command's output. In a terminal, prose wraps at spaces and nothing is split mid-word
    (paths, ids and tracebacks stay whole, for copy-paste); when the output is not a terminal (a pipe, a file),
    lines are never folded, tables are as wide as their content (every cell whole, no ellipsis) and no line ends
    in padding spaces."""
    out = _ProseConsole(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, soft_wrap=True, width=PIPED_WIDTH, file=_NoTrailingSpaces(sys.stdout))
    return out


def error_console() -> Console:
    """The console for errors, warnings and progress notes on stderr: in a terminal, wrapped at spaces like
    `console()`; as wide as its lines when stderr is not a terminal (a pipe, a log file), so a sentence stays one
    line for grep and copy-paste."""
    err = _ProseConsole(stderr=True, highlight=False)
    if not err.is_terminal:
        err = Console(stderr=True, highlight=False, soft_wrap=True, width=PIPED_WIDTH)
    return err


def counted(count: int, noun: str) -> str:
    """'1 file', '2 files': a count with its noun in the right number (nouns that take a plain -s)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def fail(message: str, exit_code: int) -> None:
    """Print one sentence to stderr and exit with `exit_code`."""
    error_console().print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(exit_code)


def confirm_or_stop(question: str, declined: str) -> None:
    """Ask a yes/no question (default no); a no, or no answer at all (no terminal), prints `declined` and exits 1."""
    import click

    try:
        if typer.confirm(question, default=False):
            return
    except (click.exceptions.Abort, typer.Abort):  # no answer: stdin closed or ctrl+d
        pass
    error_console().print(escape(declined))
    raise typer.Exit(1)


def stop_if_disk_full(exc: BaseException, home) -> None:
    """When `exc` means a full disk: its traceback to the workspace's logs/cli.log (if that can still be written),
    one sentence on screen, exit 1. Otherwise return, and the caller goes on as before."""
    from core import log, workspace
    from core.errors import disk_full

    root = workspace.home(home)
    full = disk_full(exc, root)
    if full is None:
        return
    log.to_workspace(root, "cli").error(full.message, exc_info=exc)  # silent when the disk has no room even for that
    fail(full.message, full.exit_code)


@contextmanager
def open_workspace(ctx: typer.Context) -> Iterator["Store"]:
    """The workspace store for one command; a user's error inside becomes one sentence and its exit code."""
    import sqlite3

    from core.errors import EXIT_TASK_FAILED, TaskbenchError
    from core.service import Workspace

    home = (ctx.obj or {}).get("home")
    try:
        store = Workspace(home).open_store()
    except TaskbenchError as exc:
        fail(exc.message, exc.exit_code)
    except (OSError, sqlite3.Error) as exc:
        stop_if_disk_full(exc, home)
        fail(f"cannot open the workspace {home or '(default)'}: {exc}.", EXIT_TASK_FAILED)
    try:
        yield store
    except TaskbenchError as exc:
        stop_if_disk_full(exc, home)
        fail(exc.message, exc.exit_code)
    except sqlite3.Error as exc:
        stop_if_disk_full(exc, home)
        fail(f"the workspace database failed: {exc}.", EXIT_TASK_FAILED)
    finally:
        store.close()


def print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


SHRINK_TO = 8


def _one_line(markup: str):
    from rich.text import Text

    text = Text.from_markup(markup, overflow="ellipsis")
    text.no_wrap = True
    return text


LOW_PRIORITY = ("owner", "updated")  # what a listing leaves out first when a terminal is too narrow for it


def listing(columns: list[str], rows: list[list[str]], *, keep: tuple[str, ...] = (), title: str | None = None,
            right: tuple[str, ...] = ()):
    """A table that stays readable at 80 columns: the `keep` columns (what users type next: ids, names) are never
    cut or wrapped, columns empty in every row are left out, a too narrow terminal first loses the LOW_PRIORITY
    columns (with a note saying so), and only then do the others shrink with an ellipsis; the `right` columns
    (numbers) are right-aligned. Cells are markup."""
    from rich.cells import cell_len
    from rich.text import Text

    from .listing import Listing as Table

    plain = [[Text.from_markup(cell).plain for cell in row] for row in rows]
    shown = [i for i, name in enumerate(columns) if name in keep or any(r[i] not in ("", "-") for r in plain)]
    table = Table(box=None, header_style="bold", pad_edge=False, collapse_padding=True, title=title)
    table.optional = tuple(name for name in LOW_PRIORITY if name in columns and name not in keep)
    for i in shown:
        name = columns[i]
        if name in keep:
            table.add_column(name, no_wrap=True, min_width=max([cell_len(r[i]) for r in plain] + [cell_len(name)]),
                             justify="right" if name in right else "left")
        else:  # short columns stay whole; long ones (titles, messages) give way, down to SHRINK_TO cells
            widest = max([cell_len(r[i]) for r in plain] + [cell_len(name)])
            table.add_column(name, overflow="ellipsis", min_width=min(widest, SHRINK_TO),
                             justify="right" if name in right else "left")
    for row in rows:
        # Cells never wrap; a column may still give way (rich only narrows columns that are not no_wrap).
        table.add_row(*(_one_line(row[i]) for i in shown))
    return table

