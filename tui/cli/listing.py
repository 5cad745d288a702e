"""The CLI's listing table: a rich Table that, rendered narrower than its content, leaves out its low-priority
columns (and says which) before any cell would be cut."""

from __future__ import annotations

import copy

from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

UNBOUNDED = 1 << 16


class Listing(Table):
    """A Table whose `optional` columns (first to go first) are left out when the table would not fit whole."""

    optional: tuple[str, ...] = ()

    def __rich_console__(self, console, options):
        view, left_out = self, []
        unbounded = options.update_width(UNBOUNDED)  # Measurement.get clamps to the width it is given
        for name in self.optional:
            if Measurement.get(console, unbounded, _plain_table(view)).maximum <= options.max_width:
                break
            index = next((i for i, column in enumerate(view.columns) if column.header == name), None)
            if index is None:
                continue
            if view is self:
                view = copy.copy(self)
                view.columns = list(self.columns)
            del view.columns[index]
            left_out.append(name)
        yield from Table.__rich_console__(view, console, options)
        if left_out:
            them = "it" if len(left_out) == 1 else "them"
            yield Text(f"({' and '.join(left_out)} left out to fit; widen the terminal or pipe to see {them})", style="dim")


def _plain_table(table: Listing) -> Table:
    """`table` as a plain Table, for measuring without dropping anything."""
    plain = copy.copy(table)
    plain.__class__ = Table
    return plain
