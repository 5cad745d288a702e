"""Blueprints out of taskbench (SPEC §7): JSON, Graphviz DOT, Mermaid, and an ASCII drawing for terminals.

The drawing is layered top-down: the data channels on the first row, each node
one row below its lowest input, edges routed between rows as `|` lines joined
by horizontal buses (`\\---+---/`), so a merge of several inputs reads at a glance.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Mapping

from .model import CHANNELS, Blueprint
from .syntax import render_node

GAP = 2  # spaces between boxes on a row
MIN_LABEL = 5


def _json_value(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _used_channels(bp: Blueprint) -> list[str]:
    used = {i for node in bp.nodes for i in node.inputs if i in CHANNELS}
    return [c for c in CHANNELS if c in used]


def _edges(bp: Blueprint) -> list[tuple[str, str]]:
    """(from, to) pairs: a channel or node name feeding a node name, in text order, without repeats."""
    names = {node.name for node in bp.nodes}
    found: list[tuple[str, str]] = []
    for node in bp.nodes:
        for source in node.inputs:
            if (source in CHANNELS or source in names) and (source, node.name) not in found:
                found.append((source, node.name))
    return found


def to_json(bp: Blueprint, resolved=None) -> dict:
    """The graph as JSON-ready data; `resolved` (a CheckedBlueprint, or node name -> pin dict) adds exact tasks."""
    pins: Mapping[str, dict] = {}
    parameters: Mapping[str, dict] = {}
    if resolved is not None and hasattr(resolved, "pins"):
        pins = resolved.pins()
        parameters = {name: r.parameters for name, r in resolved.nodes.items()}
    elif resolved is not None:
        pins = resolved
    nodes = []
    for node in bp.nodes:
        entry = {
            "name": node.name,
            "task": node.task,
            "version": node.version,
            "inputs": list(node.inputs),
            "parameters": {p.name: _json_value(p.value) for p in node.params},
            "line": node.position.line,
        }
        if node.name in pins:
            entry["resolved"] = dict(pins[node.name])
        if node.name in parameters:
            entry["resolved_parameters"] = {k: _json_value(v) for k, v in parameters[node.name].items()}
        nodes.append(entry)
    return {
        "name": bp.name,
        "target_type": bp.target_type,
        "final": bp.final.name,
        "channels": _used_channels(bp),
        "nodes": nodes,
        "edges": [{"from": a, "to": b} for a, b in _edges(bp)],
    }


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(bp: Blueprint) -> str:
    """Graphviz DOT: channels as ellipses, nodes as boxes labelled name and task, the final one doubled."""
    title = bp.name or "blueprint"
    lines = [f"digraph {_dot_quote(title)} {{", "    rankdir=TB;", '    node [shape=box, fontname="Helvetica"];']
    for channel in _used_channels(bp):
        lines.append(f"    {_dot_quote('channel:' + channel)} [shape=ellipse, label={_dot_quote(channel)}];")
    final = bp.final.name
    for node in bp.nodes:
        extra = ", peripheries=2" if node.name == final else ""
        label = f"{node.name}\n{node.task_ref}"
        lines.append(f"    {_dot_quote('node:' + node.name)} [label={_dot_quote(label)}{extra}];")
    for a, b in _edges(bp):
        source = ("channel:" if a in CHANNELS else "node:") + a
        lines.append(f"    {_dot_quote(source)} -> {_dot_quote('node:' + b)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def to_mermaid(bp: Blueprint) -> str:
    """A Mermaid flowchart, top-down, with the final estimator highlighted."""
    lines = ["flowchart TD"]
    for channel in _used_channels(bp):
        lines.append(f"    ch_{channel}([{channel}])")
    for node in bp.nodes:
        lines.append(f"    n_{node.name}[{_mermaid_label(f'{node.name}: {node.task_ref}')}]")
    for a, b in _edges(bp):
        source = f"ch_{a}" if a in CHANNELS else f"n_{a}"
        lines.append(f"    {source} --> n_{b}")
    lines.append("    classDef final stroke-width:3px")
    lines.append(f"    class n_{bp.final.name} final")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- ASCII drawing


@dataclass
class _Item:
    """One thing on a row of the drawing: a channel, a node, or a dummy carrying a long edge through the row."""

    key: str
    label: str
    layer: int
    dummy: bool = False
    x: int = 0
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return 1 if self.dummy else len(self.label)

    @property
    def anchor(self) -> int:
        return self.x + self.width // 2


def _layout(bp: Blueprint) -> tuple[dict[str, _Item], list[list[str]]]:
    """Items and rows: channels on row 0, each node one row below its deepest input, dummies for long edges."""
    first: dict[str, int] = {}
    for index, node in enumerate(bp.nodes):
        first.setdefault(node.name, index)
    items: dict[str, _Item] = {}
    for channel in _used_channels(bp):
        items[f"c:{channel}"] = _Item(f"c:{channel}", f"({channel})", 0)

    def key_of(name: str) -> str | None:
        if name in CHANNELS:
            return f"c:{name}"
        return f"n:{first[name]}" if name in first else None

    layers: dict[int, int] = {}
    visiting: set[int] = set()

    def layer(index: int) -> int:
        if index in layers:
            return layers[index]
        if index in visiting:
            return 0  # a cycle (reported by validation): cut here
        visiting.add(index)
        depth = 0
        for name in bp.nodes[index].inputs:
            if name in CHANNELS:
                depth = max(depth, 0)
            elif name in first:
                depth = max(depth, layer(first[name]))
        visiting.discard(index)
        layers[index] = depth + 1
        return depth + 1

    for index, node in enumerate(bp.nodes):
        items[f"n:{index}"] = _Item(f"n:{index}", f"[{node.name}: {node.task_ref}]", layer(index))

    dummies = 0
    for index, node in enumerate(bp.nodes):
        target = items[f"n:{index}"]
        for name in dict.fromkeys(node.inputs):
            source_key = key_of(name)
            if source_key is None:
                continue
            source = items[source_key]
            if source.layer >= target.layer:
                continue  # the edge that closes a cycle
            previous = source
            for depth in range(source.layer + 1, target.layer):
                dummies += 1
                dummy = _Item(f"d:{dummies}", "|", depth, dummy=True)
                items[dummy.key] = dummy
                previous.children.append(dummy.key)
                dummy.parents.append(previous.key)
                previous = dummy
            previous.children.append(target.key)
            target.parents.append(previous.key)

    depth = max(item.layer for item in items.values())
    rows: list[list[str]] = [[] for _ in range(depth + 1)]
    for key, item in items.items():
        rows[item.layer].append(key)
    rows = [row for row in rows if row]
    _order_rows(items, rows)
    return items, rows


def _order_rows(items: dict[str, _Item], rows: list[list[str]]) -> None:
    """Reduce crossings: sort each row by the mean position of its parents, then of its children (a few sweeps)."""

    def sweep(row_indices, neighbours) -> None:
        for r in row_indices:
            position = {}
            for rr in (r - 1, r + 1):
                if 0 <= rr < len(rows):
                    position.update({key: i for i, key in enumerate(rows[rr])})
            current = {key: i for i, key in enumerate(rows[r])}

            def weight(key: str) -> float:
                linked = [position[k] for k in neighbours(items[key]) if k in position]
                return sum(linked) / len(linked) if linked else current[key]

            rows[r].sort(key=lambda key: (weight(key), current[key]))

    for _ in range(2):
        sweep(range(1, len(rows)), lambda item: item.parents)
        sweep(range(len(rows) - 2, -1, -1), lambda item: item.children)
    sweep(range(1, len(rows)), lambda item: item.parents)


def _row_width(items: dict[str, _Item], row: list[str]) -> int:
    return sum(items[k].width for k in row) + GAP * (len(row) - 1)


def _shorten(label: str, limit: int) -> str:
    if len(label) <= limit:
        return label
    return label[: limit - 2] + "~" + label[-1]


def _pool(targets: list[float]) -> list[float]:
    """Least-squares non-decreasing fit of `targets` (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, count]
    for value in targets:
        blocks.append([value, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1] = [(blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count),
                          blocks[-1][1] + count]
    out: list[float] = []
    for mean, count in blocks:
        out += [mean] * count
    return out


def _place(items: dict[str, _Item], rows: list[list[str]]) -> None:
    """Horizontal positions: each item as near the mean of its neighbours above (or below) as the row allows.

    Within a row, the positions closest to the wanted ones without overlapping
    are found exactly (isotonic regression); a wanted anchor within two columns
    of a neighbour's anchor snaps to it, so the edge runs straight.
    """

    def place_row(row: list[str], linked: dict[str, list[str]]) -> None:
        wanted = []
        offset = 0
        offsets = []
        for key in row:
            item = items[key]
            anchors = [items[k].anchor for k in linked[key]]
            if anchors:
                centre = sum(anchors) / len(anchors)
                nearest = min(anchors, key=lambda a: abs(a - centre))
                if abs(nearest - centre) <= 2:
                    centre = nearest
                left = centre - item.width // 2
            else:
                left = item.x
            offsets.append(offset)
            wanted.append(left - offset)
            offset += item.width + GAP
        fitted = _pool(wanted)
        cursor = None
        for key, base, y in zip(row, offsets, fitted):
            item = items[key]
            x = round(y + base)
            if cursor is not None:
                x = max(x, cursor)
            item.x = x
            cursor = x + item.width + GAP

    cursor = 0
    for key in rows[0]:
        items[key].x = cursor
        cursor += items[key].width + GAP
    parents = {key: item.parents for key, item in items.items()}
    children = {key: item.children for key, item in items.items()}
    for _ in range(3):
        for r in range(1, len(rows)):
            place_row(rows[r], parents)
        for r in range(len(rows) - 2, -1, -1):
            place_row(rows[r], children)
    for r in range(1, len(rows)):
        place_row(rows[r], parents)
    place_row(rows[0], children)  # the channels have no parents: line them up over what they feed
    shift = min(item.x for item in items.values())
    for item in items.values():
        item.x -= shift


def _draw_row(items: dict[str, _Item], row: list[str], canvas: int) -> str:
    line = [" "] * (canvas + 1)
    for key in row:
        item = items[key]
        for i, char in enumerate(item.label):
            if item.x + i < len(line):
                line[item.x + i] = char
    return "".join(line)


def _draw_gap(items: dict[str, _Item], upper: list[str], canvas: int) -> list[str]:
    """The lines between two rows: verticals from each source, one bus per target whose inputs are offset."""
    groups: dict[str, list[int]] = {}
    for key in upper:
        for child in items[key].children:
            groups.setdefault(child, []).append(items[key].anchor)
    if not groups:
        return []
    spans = []
    straight: set[int] = set()
    for child, sources in groups.items():
        d = items[child].anchor
        if all(s == d for s in sources):
            straight.add(d)
            continue
        spans.append((min(sources + [d]), max(sources + [d]), child, sources, d))
    spans.sort(key=lambda s: (s[0], s[1]))
    lanes: list[list[tuple]] = []
    for span in spans:
        for lane in lanes:
            if lane[-1][1] + 1 < span[0]:
                lane.append(span)
                break
        else:
            lanes.append([span])

    depth_of_source: dict[int, int] = {}
    start_of_target: dict[int, int] = {}
    for index, lane in enumerate(lanes):
        for _, _, _, sources, d in lane:
            for s in sources:
                depth_of_source[s] = max(depth_of_source.get(s, -1), index)
            start_of_target[d] = min(start_of_target.get(d, index), index)
    bottom = len(lanes)
    for s in straight:
        depth_of_source[s] = bottom
        start_of_target[s] = -1

    top = [" "] * (canvas + 1)
    for s in depth_of_source:
        top[s] = "|"
    out = ["".join(top)]
    for index, lane in enumerate(lanes):
        line = [" "] * (canvas + 1)
        for s, deepest in depth_of_source.items():
            if deepest > index:
                line[s] = "|"
        for d, first in start_of_target.items():
            if first < index:
                line[d] = "|"
        for lo, hi, _, sources, d in lane:
            for x in range(lo, hi + 1):
                line[x] = "|" if line[x] == "|" else "-"
            for s in sources:
                if s == d or lo < s < hi or depth_of_source[s] > index:
                    line[s] = "+"
                else:
                    line[s] = "\\" if s == lo else "/"
            line[d] = "+"
        out.append("".join(line))
    if lanes:
        last = [" "] * (canvas + 1)
        for d in start_of_target:
            last[d] = "|"
        out.append("".join(last))
    return out


def _listing(bp: Blueprint, width: int) -> str:
    """The fallback for graphs too wide to draw: one wrapped line per node."""
    lines: list[str] = []
    for node in bp.nodes:
        lines += textwrap.wrap(render_node(node), width=width, subsequent_indent="    ") or [""]
    return "\n".join(lines) + "\n"


def draw_ascii(bp: Blueprint, width: int = 80) -> str:
    """A top-down drawing of the graph in ASCII, at most `width` columns wide (labels shorten to fit)."""
    items, rows = _layout(bp)
    full = {key: item.label for key, item in items.items()}
    cap = max(len(label) for label in full.values())
    while cap >= MIN_LABEL:
        for row in rows:
            _fit_row(items, row, full, cap, width)
        if max(_row_width(items, row) for row in rows) <= width:
            drawing = _draw(items, rows)
            if max(len(line) for line in drawing) <= width:
                return "\n".join(drawing) + "\n"
        cap -= 1
    return _listing(bp, width)


def _fit_row(items: dict[str, _Item], row: list[str], full: dict[str, str], cap: int, width: int) -> None:
    """Shorten a row's labels (never below MIN_LABEL) until the row fits in `width`, at most to `cap`."""
    limit = cap
    while True:
        for key in row:
            if not items[key].dummy:
                items[key].label = _shorten(full[key], limit)
        if _row_width(items, row) <= width or limit <= MIN_LABEL:
            return
        limit -= 1


def _draw(items: dict[str, _Item], rows: list[list[str]]) -> list[str]:
    _place(items, rows)
    canvas = max(item.x + item.width for item in items.values())
    lines: list[str] = []
    for r, row in enumerate(rows):
        lines.append(_draw_row(items, row, canvas))
        if r + 1 < len(rows):
            lines += _draw_gap(items, row, canvas)
    return [line.rstrip() for line in lines]
