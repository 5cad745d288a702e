"""The Shares view (S) of one object in a shared workspace: who has what, and the owner's share and unshare keys.

Every rule is core's (`core.sharing`: share, unshare, require); a refusal is shown as its one sentence, plain text.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from core.sharing import ROLE_MEANINGS

from ..numbers import when
from ..widgets.table import FittedTable

EVERY_MEMBER = "every member"


def who(grantee: str) -> str:
    return EVERY_MEMBER if grantee == "*" else grantee


@dataclass(frozen=True)
class SharesState:
    """What the view shows of the object: its owner, your access, its shares, and the members one may share with."""

    owner: str
    user: str
    access: str
    shares: list
    members: list[str]


class SharesScreen(ModalScreen[bool]):
    """One object's shares: grantee, role, granted by, when; `a` shares (owner only), `x` takes a share back."""

    BINDINGS = [
        Binding("a,plus", "share", "share"),
        Binding("x,d", "unshare", "unshare"),
        Binding("escape", "close", "close"),
        Binding("j", "move(1)", "Down", show=False),
        Binding("k", "move(-1)", "Up", show=False),
    ]
    DEFAULT_CSS = """
    SharesScreen { align: center middle; }
    #shares-box { width: 76; height: auto; max-height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    #shares-title { height: auto; text-style: bold; }
    #shares-table { height: auto; max-height: 12; }
    #shares-keys { color: $text-muted; margin-top: 1; }
    #shares-status { height: auto; }
    #shares-status.error { color: $error; }
    """

    @dataclass
    class Loaded(Message):
        state: SharesState

    @dataclass
    class Said(Message):
        text: str
        error: bool = False
        reload: bool = False

    def __init__(self, kind: str, name: str):
        super().__init__()
        self.kind, self.object_name = kind, name
        self.state: SharesState | None = None
        self.changed = False

    def compose(self) -> ComposeResult:
        from core.sharing import NOUNS

        with Vertical(id="shares-box"):
            yield Static(Text(f"Shares of the {NOUNS[self.kind]} {self.object_name}"), id="shares-title")
            yield Static("", id="shares-owner", markup=False)
            yield FittedTable(id="shares-table", cursor_type="row", zebra_stripes=False)
            yield Static("a share  x unshare  esc close", id="shares-keys", markup=False)
            yield Static("", id="shares-status", markup=False)

    def on_mount(self) -> None:
        table = self.query_one("#shares-table", FittedTable)
        for label in ("with", "role", "by", "when"):
            table.add_column(label, key=label)
        table.display = False  # until the shares are read: no empty header meanwhile
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="shares-load", exit_on_error=False)
    def load(self) -> None:
        from core import sharing
        from core.errors import TaskbenchError

        try:
            with self.app.workspace.store() as store:
                user = self.app.workspace.user
                found = sharing.shares(store, self.kind, self.object_name)
                state = SharesState(store.owner(self.kind, self.object_name) or "-", user,
                                    sharing.access(store, user, self.kind, self.object_name), found, store.sharing.members())
        except TaskbenchError as exc:
            self.post_message(self.Said(exc.message, error=True))
            return
        self.post_message(self.Loaded(state))

    @on(Loaded)
    def show(self, message: Loaded) -> None:
        self.state = state = message.state
        mine = " (you)" if state.owner == state.user else f"; you ({state.user}) have {state.access}"
        count = ("shared with " + ", ".join(who(given.grantee) for given in state.shares) if state.shares
                 else "shared with nobody: only its owner uses it")
        self.query_one("#shares-owner", Static).update(Text(f"owner {state.owner}{mine} · {count}"))
        table = self.query_one("#shares-table", FittedTable)
        table.clear()
        for given in state.shares:
            table.add_row(who(given.grantee), given.role, given.granted_by, when(given.granted_at), key=given.grantee)
        self.query_one("#shares-table").display = bool(state.shares)

    @on(Said)
    def said(self, message: Said) -> None:
        status = self.query_one("#shares-status", Static)
        status.update(Text(message.text))  # core's sentence, never markup
        status.set_class(message.error, "error")
        if message.reload:
            self.changed = True
            self.load()

    # ------------------------------------------------------------ keys

    def action_move(self, step: int) -> None:
        table = self.query_one("#shares-table", FittedTable)
        table.action_cursor_down() if step > 0 else table.action_cursor_up()

    def action_close(self) -> None:
        self.dismiss(self.changed)

    def action_share(self) -> None:
        """Ask whom and which role (only the owner may share: core says so otherwise), then share."""
        self.check_owner("share", self.pick_grantee)

    def pick_grantee(self) -> None:
        state = self.state
        others = [member for member in state.members if member != state.user] if state else []

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer:
                self.change("share", *answer)

        self.app.push_screen(GranteePicker(others, self.kind, self.object_name), chosen)

    def action_unshare(self) -> None:
        table = self.query_one("#shares-table", FittedTable)
        if not self.state or not self.state.shares or table.row_count == 0:
            self.post_message(self.Said("nothing to take back: this object is shared with nobody."))
            return
        given = self.state.shares[min(table.cursor_row, len(self.state.shares) - 1)]

        def answered(yes: bool | None) -> None:
            if yes:
                self.change("unshare", given.grantee, None)

        question = f"Take back {who(given.grantee)}'s {given.role} share of the {self.kind} {self.object_name}?"
        self.check_owner("unshare", lambda: self.app.push_screen(Confirm(question), answered))

    @work(thread=True, exclusive=True, group="shares-change", exit_on_error=False)
    def check_owner(self, doing: str, then) -> None:
        """Run `then` on the UI thread when the acting user owns the object; else show core's sentence."""
        from core import sharing
        from core.errors import TaskbenchError

        try:
            with self.app.workspace.store() as store:
                sharing.require(store, self.kind, self.object_name, "owner", doing)
        except TaskbenchError as exc:
            self.post_message(self.Said(exc.message, error=True))
            return
        self.app.call_from_thread(then)

    @work(thread=True, exclusive=True, group="shares-change", exit_on_error=False)
    def change(self, doing: str, grantee: str, role: str | None) -> None:
        from core import sharing
        from core.errors import TaskbenchError

        try:
            with self.app.workspace.store() as store:
                user = self.app.workspace.user
                if doing == "share":
                    sharing.share(store, user, self.kind, self.object_name, grantee, role)
                else:
                    sharing.unshare(store, user, self.kind, self.object_name, grantee)
        except TaskbenchError as exc:
            self.post_message(self.Said(exc.message, error=True))
            return
        text = (f"Shared with {who(grantee)} ({role})." if doing == "share"
                else f"No longer shared with {who(grantee)}.")
        self.post_message(self.Said(text, reload=True))


class GranteePicker(ModalScreen):
    """Whom to share with (a member, or every member), then which role; enter picks, esc cancels."""

    BINDINGS = [
        Binding("escape", "dismiss", "Cancel"),
        Binding("j", "move(1)", "Down", show=False),
        Binding("k", "move(-1)", "Up", show=False),
    ]
    DEFAULT_CSS = """
    GranteePicker { align: center middle; }
    #grantee-box { width: 64; height: auto; max-height: 20; border: round $accent; background: $surface; padding: 0 1; }
    #grantee-title { height: auto; }
    #grantee-list { height: auto; max-height: 14; border: none; }
    """

    def __init__(self, members: list[str], kind: str, name: str):
        super().__init__()
        self.members = members
        self.kind = kind
        self.what = f"{kind} {name}"
        self.grantee: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="grantee-box"):
            yield Static(Text(f"Share {self.what} with whom?\nj/k move, enter picks, esc cancels"), id="grantee-title")
            yield OptionList(Option(f"{EVERY_MEMBER} (--all)", id="*"),
                             *(Option(Text(member), id=member) for member in self.members), id="grantee-list")

    def on_mount(self) -> None:
        options = self.query_one("#grantee-list", OptionList)
        options.focus()
        options.highlighted = 0

    def action_move(self, step: int) -> None:
        options = self.query_one("#grantee-list", OptionList)
        options.action_cursor_down() if step > 0 else options.action_cursor_up()

    @on(OptionList.OptionSelected, "#grantee-list")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        if self.grantee is None:  # first the member, then the role on the same list
            self.grantee = event.option.id
            options = self.query_one("#grantee-list", OptionList)
            options.clear_options()
            options.add_options(Option(f"{role}: {text}", id=role) for role, text in ROLE_MEANINGS[self.kind].items())
            options.highlighted = 0
            self.query_one("#grantee-title", Static).update(
                Text(f"Share {self.what} with {who(self.grantee)} as?\nj/k move, enter shares, esc cancels"))
            return
        self.dismiss((self.grantee, event.option.id))


class Confirm(ModalScreen[bool]):
    """A yes/no question: `y` answers yes, esc or `n` no."""

    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("escape,n", "answer(False)", "no")]
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    #confirm-question { width: 64; height: auto; border: round $warning; background: $surface; padding: 0 1; }
    """

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(self.question, "\n", ("y yes    esc no", "bold")), id="confirm-question")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
