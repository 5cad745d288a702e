"""A DataTable whose columns take the width of their content as rows arrive, for every pane's list.

Textual's DataTable (8.2.8) measures auto-width columns later, in its idle
handler, and caches drawn cells under a key that does not include the column
widths. A frame painted in between (another widget refreshed, the table's idle
came late under load) caches cells cut at the header's width, and the idle pass
does not invalidate them, so a refilled list could stay drawn at header width.
Here every column has a fixed width, set in the same call that adds or changes
a cell, so there is nothing left to measure and no stale frame to keep.

DataTable also reads a `str` cell as Rich markup, so a name like `ab[cd]` or a
value `[global]` would lose its brackets: every `str` cell is stored as plain `Text`.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.errors import MarkupError
from rich.protocol import is_renderable
from rich.text import Text, TextType
from textual.message import Message
from textual.render import measure
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey


def plain(cell: object) -> object:
    """A `str` cell as plain Text (DataTable would parse it as markup); anything else unchanged."""
    return Text(cell) if isinstance(cell, str) else cell


class FittedTable(DataTable):
    """A DataTable sized to its content synchronously: each column is as wide as its label and widest cell.

    A column added with an explicit `width` keeps it; the others follow their
    content as rows are added, cells updated and the table cleared.
    """

    class Resized(Message):
        """The table's width changed (a pane beside it hid or showed): a pane that fits columns to it lays them out again."""

        def __init__(self, table: FittedTable):
            super().__init__()
            self.table = table

        @property
        def control(self) -> FittedTable:
            return self.table

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fitted: set[ColumnKey] = set()  # columns whose width follows their content
        self._width = 0

    def on_resize(self, event) -> None:
        if event.size.width != self._width:
            self._width = event.size.width
            self.post_message(self.Resized(self))

    def cell_width(self, value: object) -> int:
        """Cells `value` takes on a one-line row, measured as DataTable draws it (a str is markup)."""
        if isinstance(value, str):
            first_line = value.partition("\n")[0]
            try:
                return Text.from_markup(first_line).cell_len
            except MarkupError:
                return cell_len(first_line)
        if isinstance(value, float):
            return len(f"{value:.2f}")
        if isinstance(value, Text):
            return max((cell_len(line) for line in value.plain.split("\n")), default=0)
        if is_renderable(value):
            return measure(self.app.console, value, 1)
        return cell_len(str(value))

    def _label_width(self, key: ColumnKey) -> int:
        return self.cell_width(self.columns[key].label)

    def _set_width(self, key: ColumnKey, width: int) -> None:
        column = self.columns[key]
        column.width = width
        column.auto_width = False

    def add_column(
        self, label: TextType, *, width: int | None = None, key: str | None = None, default: CellType | None = None
    ) -> ColumnKey:
        column_key = super().add_column(label, width=width if width is not None else 0, key=key, default=default)
        if width is None:
            self._fitted.add(column_key)
            widest = max([self._label_width(column_key), *(self.cell_width(cell) for cell in self.get_column(column_key))])
            self._set_width(column_key, widest)
        return column_key

    def add_row(self, *cells: CellType, height: int | None = 1, key: str | None = None, label: TextType | None = None) -> RowKey:
        cells = tuple(plain(cell) for cell in cells)
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        for column, cell in zip(self.ordered_columns, cells):
            if column.key in self._fitted:
                column.width = max(column.width, self.cell_width(cell))
        return row_key

    def update_cell(
        self, row_key: RowKey | str, column_key: ColumnKey | str, value: CellType, *, update_width: bool = False
    ) -> None:
        value = plain(value)
        super().update_cell(row_key, column_key, value, update_width=update_width)
        key = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        if key not in self._fitted:
            return
        column = self.columns[key]
        width = self.cell_width(value)
        if width > column.width:
            column.width = width
        elif width < column.width:  # the widest cell may have shrunk: measure the column again
            column.width = max([self._label_width(key), *(self.cell_width(cell) for cell in self.get_column(key))])

    def clear(self, columns: bool = False):
        super().clear(columns=columns)
        if columns:
            self._fitted.clear()
        for key in self._fitted:
            self._set_width(key, self._label_width(key))
        return self


__all__ = ["FittedTable"]
