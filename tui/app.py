"""The terminal workbench: a Textual app whose panes call `core` services (SPEC §11).

Keys come from one registry (`tui.actions`): 1–5 and tab switch panes, `?` lists
every binding, ctrl+p finds every action, q quits (not while typing in the editor).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

from textual.app import App, ComposeResult
from textual.command import DiscoveryHit, Hit, Hits, Provider
from rich.text import Text
from textual.widgets import ContentSwitcher, Footer, Static

from .actions import GLOBAL_ACTIONS, Action, bindings, key_label
from .panes import Pane, pane_classes
from .screens.confirm import ConfirmQuit


class Identity(Static):
    """In a shared workspace, who you are and where: `USER @ WORKSPACE (group G)`, the path's middle cut with …
    when it does not fit (the `?` help shows it whole). A private workspace shows nothing here."""

    def __init__(self, user: str, home: Path, group: str, **kwargs):
        super().__init__("", markup=False, **kwargs)
        self.user, self.home, self.group = user, str(home), group

    def on_resize(self) -> None:
        self.update(identity_line(self.user, self.home, self.group, self.size.width or 80))


def identity_line(user: str, home: str, group: str, width: int) -> Text:
    """`USER @ PATH (group G)` in `width` cells: a long path loses its middle (its start and its end are kept)."""
    room = width - len(f" {user} @  (group {group}) ")
    path = home if len(home) <= room else home[: max(room - 1, 2) // 2] + "…" + home[len(home) - (max(room - 1, 2) + 1) // 2:]
    return Text.assemble(" ", (user, "bold"), " @ ", path, f" (group {group})", no_wrap=True, overflow="ellipsis")


class PaneBar(Static):
    """The row of pane names with their number keys; the current one highlighted."""

    def show(self, panes: list[type[Pane]], current: str) -> None:
        parts = []
        for pane in panes:
            label = f" {pane.KEY} {pane.TITLE} "
            parts.append(f"[reverse]{label}[/]" if pane.__name__ == current else label)
        self.update(" ".join(parts))


class ActionProvider(Provider):
    """Command palette entries: every action in the registry, global and per pane, then Textual's own commands
    (theme, screenshot…). One provider yields both so an empty query lists taskbench's actions first."""

    def _entries(self):
        app = self.app
        for action, pane in app.all_actions():
            where = f"{pane.TITLE}: " if pane else ""
            yield f"{where}{action.description}", partial(app.run_registered, action, pane), f"key {key_label(action.key)}"
        for command in app.get_system_commands(self.screen):
            if command.title.lower() in ("quit", "keys"):
                continue  # ours say the same and ask before losing work
            yield command.title, command.callback, command.help

    async def discover(self) -> Hits:
        for text, callback, help_text in self._entries():
            yield DiscoveryHit(text, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, callback, help_text in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, help=help_text)


class TaskbenchApp(App):
    """Tasks, environments, blueprints, projects and jobs in one keyboard-driven screen."""

    # One style file for the frame and one per pane (tui/panes/<pane>.tcss), so panes keep their own.
    CSS_PATH = ["app.tcss", *sorted(str(p.relative_to(Path(__file__).parent)) for p in (Path(__file__).parent / "panes").glob("*.tcss"))]
    TITLE = "taskbench"
    COMMANDS = {ActionProvider}
    BINDINGS = bindings(GLOBAL_ACTIONS)
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, home: Path | None = None):
        from core import workspace
        from core.errors import TaskbenchError
        from core.service import Workspace

        self.workspace = Workspace(home)  # the one seam to core: every pane reads and writes through it
        self.home = self.workspace.home
        try:
            self.sharing = workspace.sharing(self.home)  # None: a private workspace, which shows nothing of sharing
        except TaskbenchError:
            self.sharing = None  # not a member: the panes' first reads say so
        self.pane_types = pane_classes()
        super().__init__()
        for pane in self.pane_types:
            self.bind(pane.KEY, f"show_pane('{pane.__name__}')", description=pane.TITLE, show=False)
        if self.sharing is not None:  # S joins the footer where it can act
            found = self._bindings.key_to_bindings  # a copy per app: the class's own list stays as it is
            found["S"] = [replace(binding, show=True) for binding in found["S"]]

    def compose(self) -> ComposeResult:
        if self.sharing is not None:
            from core.workspace import system_user

            yield Identity(system_user(), self.home, self.sharing.group, id="identity")
        yield PaneBar(id="pane-bar")
        with ContentSwitcher(initial=self.pane_types[0].__name__, id="panes"):
            for pane in self.pane_types:
                yield pane(id=pane.__name__)
        yield Footer()

    def on_mount(self) -> None:
        self.show_pane(self.pane_types[0].__name__)

    # ------------------------------------------------------------ panes

    @property
    def current_pane(self) -> Pane:
        switcher = self.query_one("#panes", ContentSwitcher)
        return self.query_one(f"#{switcher.current}", Pane)

    def show_pane(self, name: str) -> None:
        self.query_one("#panes", ContentSwitcher).current = name
        self.query_one(PaneBar).show(self.pane_types, name)
        pane = self.current_pane
        pane.refresh_data()
        pane.focus_default()

    def action_show_pane(self, name: str) -> None:
        self.show_pane(name)

    def _step_pane(self, step: int) -> None:
        if len(self.screen_stack) > 1:
            self.screen.focus_next() if step > 0 else self.screen.focus_previous()  # a dialog keeps tab for its fields
            return
        names = [p.__name__ for p in self.pane_types]
        index = names.index(self.query_one("#panes", ContentSwitcher).current)
        self.show_pane(names[(index + step) % len(names)])

    def action_next_pane(self) -> None:
        self._step_pane(1)

    def action_previous_pane(self) -> None:
        self._step_pane(-1)

    # ------------------------------------------------------------ registry

    def all_actions(self) -> list[tuple[Action, type[Pane] | None]]:
        """Every action with the pane it belongs to (None for global ones), for help and the palette."""
        found: list[tuple[Action, type[Pane] | None]] = [(a, None) for a in GLOBAL_ACTIONS]
        found += [(Action(f"show_pane('{p.__name__}')", p.KEY, f"Show the {p.TITLE} pane"), None) for p in self.pane_types]
        for pane in self.pane_types:
            found += [(a, pane) for a in pane.ACTIONS]
        return found

    def run_registered(self, action: Action, pane: type[Pane] | None) -> None:
        """Run an action chosen in the palette: switch to its pane first when it belongs to one."""
        if pane is None:
            self.call_later(self.run_action, action.name)
            return
        self.show_pane(pane.__name__)
        self.call_later(self.current_pane.run_action, action.name)

    # ------------------------------------------------------------ quitting

    def pending_losses(self) -> list[str]:
        """What quitting now would throw away: unsaved edits and running work, one phrase each."""
        losses: list[str] = []
        for pane in self.query(Pane):
            losses += pane.pending_losses()
        return losses

    async def action_quit(self) -> None:
        """Quit at once when nothing would be lost; otherwise ask first (q again quits anyway, esc stays)."""
        if isinstance(self.screen, ConfirmQuit):
            return
        losses = self.pending_losses()
        if not losses:
            self.exit()
            return

        def answered(quit_anyway: bool | None) -> None:
            if quit_anyway:
                self.exit()

        self.push_screen(ConfirmQuit(losses), answered)

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen(self.all_actions(), self.where()))

    def where(self) -> str:
        """In a shared workspace, who you are in which workspace, said whole (the identity line may cut the path)."""
        if self.sharing is None:
            return ""
        from core.workspace import system_user

        members = ", ".join(self.sharing.members()) or "none listed"
        return (f"You are {system_user()} in the shared workspace {self.home} (group {self.sharing.group}; members: "
                f"{members}). Lists show each object's owner and your access; +N: shared with N members, +all: with "
                "every member.")

    def action_shares(self) -> None:
        """Open the Shares view of the current pane's selected object; in a private workspace, say why not."""
        if self.sharing is None:
            self.notify("Sharing needs a shared workspace, and this one is private; create one with taskbench "
                        "workspace init DIR --group GROUP.", severity="warning", markup=False)
            return
        target = self.current_pane.shared_object()
        if isinstance(target, str):
            self.notify(target, severity="warning", markup=False)
            return
        from .screens.shares import SharesScreen

        kind, name = target
        self.push_screen(SharesScreen(kind, name), lambda _changed: self.current_pane.refresh_data())


def run_app(home: Path | None = None) -> None:
    """Start the workbench on a workspace."""
    app = TaskbenchApp(home)
    _quit_when_the_terminal_goes(app)
    app.run()


def _quit_when_the_terminal_goes(app: App, every: float = 1.0) -> None:
    """Quit when the terminal hangs up (an SSH session dropped, a tmux pane killed): Textual's input thread reads
    nothing forever then, spinning a core, when no SIGHUP reaches the app (under runuser or sudo, for one)."""
    import os
    import select
    import sys
    import termios
    import threading
    import time

    try:
        fd = sys.__stdin__.fileno()
        termios.tcgetattr(fd)
    except (AttributeError, OSError, ValueError, termios.error):
        return  # no terminal to watch (a test's pilot, a pipe)

    poller = select.poll()
    poller.register(fd, select.POLLIN)  # reading is left to Textual; POLLHUP says the other end is gone

    def watch() -> None:
        while True:
            time.sleep(every)
            try:
                if any(events & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, events in poller.poll(0)):
                    break
                termios.tcgetattr(fd)
            except (OSError, termios.error):
                break
        # Its exit writes to a terminal that is gone and may hang there (call_from_thread then never returns):
        # leave anyway a few seconds later. Jobs it ran end as an engine's death leaves them (interrupted).
        later = threading.Timer(5, os._exit, (129,))
        later.daemon = True
        later.start()
        try:
            app.call_from_thread(app.exit)
        except Exception:  # noqa: BLE001 - the app may be gone already
            pass

    threading.Thread(target=watch, name="terminal-watch", daemon=True).start()


__all__ = ["TaskbenchApp", "run_app"]
