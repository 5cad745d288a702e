"""The blueprint graph (SPEC §7): nodes that run tasks on data channels or on other nodes' outputs.

The parser produces these objects with source positions, so every later check
(validation, type checks) can point at a line and a column.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

CHANNELS = ("NUM", "CAT", "TXT", "DATE", "ALL")


@dataclass(frozen=True)
class Position:
    """1-based line and column in the blueprint text."""

    line: int
    column: int


@dataclass(frozen=True)
class Param:
    """One `name=value` argument of a node, with where its name and its value stand."""

    name: str
    value: object  # int, float, str, bool, or a tuple of those
    position: Position
    value_position: Position
    text: str | None = None  # how a number was spelled in the source (`1e-3`), so formatting keeps it


@dataclass(frozen=True)
class Node:
    """`name = task@version(inputs…, params…)`: one step of the graph."""

    name: str
    task: str
    version: int | None  # None: unpinned (resolved to the latest when saved) or a built-in task
    inputs: tuple[str, ...]  # channel names (CHANNELS) or names of other nodes
    params: tuple[Param, ...]
    position: Position  # of the node name
    task_position: Position
    input_positions: tuple[Position, ...] = ()
    version_position: Position | None = None  # of the N in `task@N`
    comment: str | None = None  # a trailing `# …` comment on the node's line
    end_line: int | None = None  # the line of the closing parenthesis (a node may span lines)

    @property
    def parameters(self) -> dict[str, object]:
        return {p.name: p.value for p in self.params}

    @property
    def task_ref(self) -> str:
        return self.task if self.version is None else f"{self.task}@{self.version}"

    def channels(self) -> tuple[str, ...]:
        return tuple(i for i in self.inputs if i in CHANNELS)

    def upstream(self) -> tuple[str, ...]:
        return tuple(i for i in self.inputs if i not in CHANNELS)


@dataclass(frozen=True)
class Blueprint:
    """A parsed blueprint: its nodes in text order, the final estimator, and header facts."""

    nodes: tuple[Node, ...]
    name: str | None = None
    target_type: str | None = None  # from the `# blueprint: NAME  target: T` header, when present
    source: str = ""
    comments: tuple[tuple[int, str], ...] = field(default=())  # (line, text) of full-line comments

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def final(self) -> Node:
        """The node named `model`, else the last one (SPEC §7)."""
        for node in self.nodes:
            if node.name == "model":
                return node
        return self.nodes[-1]

    def order(self) -> list[Node]:
        """Nodes in an order where every node comes after its inputs (a cycle, an error, is cut where found)."""
        by_name = {n.name: n for n in self.nodes}
        done: dict[str, Node] = {}
        visiting: set[str] = set()

        def visit(node: Node) -> None:
            if node.name in done or node.name in visiting:
                return
            visiting.add(node.name)
            for name in node.upstream():
                if name in by_name:
                    visit(by_name[name])
            visiting.discard(node.name)
            done[node.name] = node

        for node in self.nodes:
            visit(node)
        return list(done.values())

    def without_channels(self, absent: set[str] | frozenset[str]) -> "Blueprint":
        """The blueprint with channels the data lacks removed from every node's inputs, and the nodes
        left with no input removed too (and so on downstream); other nodes keep their positions.

        When that would remove the final estimator (or every node), the blueprint comes back unchanged,
        so validation reports the missing channel at its line and column instead of checking another graph.
        """
        pruned = self._pruned(absent)
        if not pruned.nodes or pruned.final.name != self.final.name:
            return self
        return pruned

    def starved(self, absent: set[str] | frozenset[str]) -> set[str]:
        """Names of the nodes that get no input at all once the channels in `absent` are removed."""
        kept = {node.name for node in self._pruned(absent).nodes}
        return {node.name for node in self.nodes if node.name not in kept}

    def _pruned(self, absent: set[str] | frozenset[str]) -> "Blueprint":
        gone = set(absent)
        kept: list[Node] = []
        changed = True
        nodes = list(self.nodes)
        while changed:
            changed = False
            kept = []
            for node in nodes:
                pairs = [
                    (name, position)
                    for name, position in zip(node.inputs, node.input_positions or (None,) * len(node.inputs))
                    if name not in gone
                ]
                if node.inputs and not pairs:
                    gone.add(node.name)
                    changed = True
                    continue
                if len(pairs) != len(node.inputs):
                    node = replace(
                        node,
                        inputs=tuple(name for name, _ in pairs),
                        input_positions=tuple(p for _, p in pairs) if node.input_positions else (),
                    )
                kept.append(node)
            nodes = kept
        return replace(self, nodes=tuple(kept))

    def needed(self) -> list[Node]:
        """The nodes the final estimator depends on (itself included), in execution order."""
        by_name = {n.name: n for n in self.nodes}
        keep: set[str] = set()
        todo = [self.final.name]
        while todo:
            name = todo.pop()
            if name in keep or name not in by_name:
                continue
            keep.add(name)
            todo.extend(by_name[name].upstream())
        return [n for n in self.order() if n.name in keep]
