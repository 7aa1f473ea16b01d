"""Which cells of the explorer's grids are computed, and the order of the rest: blocks of settings (learning
rates x L2 weights, one sweep each, all iteration counts as snapshots), the setting on screen first. No ipywidgets."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from ..algorithms.sweeps import Sweep, grid_position

Key = tuple[str, int, str]  # (model, class index, start)
Pair = tuple[float, float]  # (lr, l2_reg)


@dataclass(frozen=True)
class Block:
    """The settings ``lrs`` x ``l2s`` of grid ``key``: one sweep."""

    key: Key
    lrs: tuple[float, ...]
    l2s: tuple[float, ...]

    @property
    def pairs(self) -> set[Pair]:
        return set(product(self.lrs, self.l2s))

    def split(self, pair: Pair) -> list[Block]:
        """``pair`` alone first, then the rest of its lr row, then the other rows (each a product, none empty)."""
        lr, l2 = pair
        parts = [((lr,), (l2,)), ((lr,), tuple(v for v in self.l2s if v != l2)),
                 (tuple(v for v in self.lrs if v != lr), self.l2s)]
        return [Block(self.key, a, b) for a, b in parts if a and b]


class Plan:
    """The parts computed so far (``Sweep``s of blocks) of each grid and the blocks still to compute, in order.

    Not thread-safe by itself: the explorer holds its worker's lock around every call.
    """

    def __init__(self, lrs: list[float], l2s: list[float]) -> None:
        self.lrs, self.l2s = tuple(lrs), tuple(l2s)
        self.parts: dict[Key, list[Sweep]] = {}
        self.todo: list[Block] = []
        self.running: Block | None = None

    def find(self, key: Key, lr: float, l2_reg: float) -> Sweep | None:
        """The computed part holding setting (lr, l2_reg) of grid ``key``, or None."""
        for part in self.parts.get(key, []):
            try:
                grid_position(part.lr, lr), grid_position(part.l2_reg, l2_reg)
            except ValueError:
                continue
            return part
        return None

    def computed(self, key: Key) -> int:
        """How many settings of grid ``key`` are computed."""
        return sum(len(p.lr) * len(p.l2_reg) for p in self.parts.get(key, []))

    def complete(self, key: Key) -> bool:
        return self.computed(key) == len(self.lrs) * len(self.l2s)

    def want(self, key: Key, pair: Pair, *, split: bool = True) -> None:
        """Put grid ``key``'s missing settings first in line, ``pair`` first of all (split out of its block)."""
        mine = [b for b in self.todo if b.key == key]
        running = self.running.pairs if self.running is not None and self.running.key == key else set()
        planned = running.union(*(b.pairs for b in mine))
        done = {(lr, l2) for p in self.parts.get(key, []) for lr, l2 in product(p.lr, p.l2_reg)}
        missing = set(product(self.lrs, self.l2s)) - done - planned
        if missing == set(product(self.lrs, self.l2s)):
            mine.append(Block(key, self.lrs, self.l2s))
        else:  # after a failure or an interrupt: one block per lr row of what is missing
            mine += [Block(key, (lr,), tuple(v for v in self.l2s if (lr, v) in missing))
                     for lr in self.lrs if any((lr, v) in missing for v in self.l2s)]
        if split:
            mine = [part for b in mine for part in (b.split(pair) if pair in b.pairs else [b])]
            mine.sort(key=lambda b: (pair not in b.pairs, pair[0] not in b.lrs))
        self.todo = mine + [b for b in self.todo if b.key != key]

    def next(self) -> Block | None:
        """Take the first block in line (it is ``running`` until ``finish``)."""
        self.running = self.todo.pop(0) if self.todo else None
        return self.running

    def finish(self, block: Block, part: Sweep | None) -> None:
        """``block`` is done (``part``), failed (None: its grid's other blocks are dropped) or was cancelled
        (``requeue``)."""
        self.running = None
        if part is not None:
            self.parts.setdefault(block.key, []).append(part)
        else:
            self.todo = [b for b in self.todo if b.key != block.key]

    def requeue(self, block: Block) -> None:
        """A cancelled block goes back to the end of the line."""
        self.running = None
        self.todo.append(block)
