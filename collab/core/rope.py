"""A document's text held in chunks (`Rope`), so that a keystroke costs the same on any size.

An immutable, balanced tree (AVL: children's heights differ by at most one) whose leaves are
chunks of about CHUNK code points. Every node knows its code points, its UTF-8 bytes and
the CRC-32 of its UTF-8 bytes, combined from its children's (crc32.combine): the wire
contract's `hash` of the whole text is the root's, exactly zlib.crc32 of the text's UTF-8.
An edit copies one chunk and the nodes on the path to it (O(log chunks) CRC combines), and
shares the rest with the text before it, so versions in memory at once (the committed text,
the head, the texts waiting for their commit) cost one tree plus a few paths, like strings.

Like `str`: `len(rope)`, `rope[a:b]` (a `str`), `str(rope)` (the whole text: O(n), for joins,
snapshots and reads, never the keystroke path). Changes make a new rope: `replace`, `edit`,
and `apply` (a patch's hunks, applied exactly as patches.apply_patch does).

Pure: no I/O.
"""
from __future__ import annotations

from typing import Iterator, Sequence

from .crc32 import combine, crc32
from .patches import Edit, Hunk, apply_edits, apply_patch, patch_span

CHUNK = 4_096  # code points per chunk, about: a keystroke re-encodes and re-hashes one
MAX_CHUNK = 2 * CHUNK  # a chunk grown past this is cut in two
MIN_CHUNK = CHUNK // 4  # a chunk shrunk below this joins a neighbour (when it has one)


class _Node:
    """A leaf (`text` set) or an inner node (`left`, `right`); never changed once made."""

    __slots__ = ("left", "right", "text", "cp", "nbytes", "crc", "height")

    def __init__(self, left: _Node | None, right: _Node | None, text: str | None,
                 cp: int, nbytes: int, crc: int, height: int) -> None:
        self.left, self.right, self.text = left, right, text
        self.cp, self.nbytes, self.crc, self.height = cp, nbytes, crc, height


def _leaf(text: str) -> _Node:
    data = text.encode("utf-8")
    return _Node(None, None, text, len(text), len(data), crc32(data), 0)


def _inner(left: _Node, right: _Node) -> _Node:
    return _Node(left, right, None, left.cp + right.cp, left.nbytes + right.nbytes,
                 combine(left.crc, right.crc, right.nbytes), max(left.height, right.height) + 1)


def _build(leaves: Sequence[_Node]) -> _Node | None:
    """A perfectly balanced tree of `leaves`, in order."""
    if not leaves:
        return None
    if len(leaves) == 1:
        return leaves[0]
    mid = len(leaves) // 2
    left, right = _build(leaves[:mid]), _build(leaves[mid:])
    assert left is not None and right is not None
    return _inner(left, right)


def _chunks(text: str) -> list[_Node]:
    """Leaves of about CHUNK code points each (equal sizes: cutting at CHUNK would leave a
    sliver each time), none over MAX_CHUNK."""
    if not text:
        return []
    count = max(1, round(len(text) / CHUNK))
    step = -(-len(text) // count)
    return [_leaf(text[i:i + step]) for i in range(0, len(text), step)]


def _balance(left: _Node, right: _Node) -> _Node:
    """`_inner(left, right)` rotated back to AVL when their heights differ by two."""
    if left.height > right.height + 1:
        a, b = left.left, left.right
        assert a is not None and b is not None
        if a.height >= b.height:
            return _inner(a, _inner(b, right))
        assert b.left is not None and b.right is not None
        return _inner(_inner(a, b.left), _inner(b.right, right))
    if right.height > left.height + 1:
        a, b = right.left, right.right
        assert a is not None and b is not None
        if b.height >= a.height:
            return _inner(_inner(left, a), b)
        assert a.left is not None and a.right is not None
        return _inner(_inner(left, a.left), _inner(a.right, b))
    return _inner(left, right)


def _join(left: _Node | None, right: _Node | None) -> _Node | None:
    """The concatenation, balanced (AVL join: down the taller tree's spine to the height of
    the other, O(height difference) new nodes)."""
    if left is None:
        return right
    if right is None:
        return left
    if left.height > right.height + 1:
        assert left.left is not None
        joined = _join(left.right, right)
        assert joined is not None
        return _balance(left.left, joined)
    if right.height > left.height + 1:
        assert right.right is not None
        joined = _join(left, right.left)
        assert joined is not None
        return _balance(joined, right.right)
    return _inner(left, right)


def _split(node: _Node | None, pos: int) -> tuple[_Node | None, _Node | None]:
    """The code points before `pos` and from `pos` on, as two trees (a chunk cut at `pos`
    becomes two: the caller joins the pieces at the cut to their neighbours)."""
    if node is None:
        return None, None
    if node.text is not None:
        if pos <= 0:
            return None, node
        if pos >= node.cp:
            return node, None
        return _leaf(node.text[:pos]), _leaf(node.text[pos:])
    assert node.left is not None and node.right is not None
    middle = node.left.cp
    if pos < middle:
        a, b = _split(node.left, pos)
        return a, _join(b, node.right)
    if pos > middle:
        a, b = _split(node.right, pos - middle)
        return _join(node.left, a), b
    return node.left, node.right


def _pop_last(node: _Node) -> tuple[_Node | None, str]:
    """The tree without its last chunk, and that chunk's text."""
    if node.text is not None:
        return None, node.text
    assert node.left is not None and node.right is not None
    rest, text = _pop_last(node.right)
    return _join(node.left, rest), text


def _pop_first(node: _Node) -> tuple[str, _Node | None]:
    """The first chunk's text, and the tree without it."""
    if node.text is not None:
        return node.text, None
    assert node.left is not None and node.right is not None
    text, rest = _pop_first(node.left)
    return text, _join(rest, node.right)


def _replace_in_leaf(node: _Node, start: int, end: int, new: str, alone: bool) -> _Node | None:
    """The tree with [start, end) replaced by `new`, when that stays inside one chunk and the
    chunk keeps a good size (path copying: one chunk and its ancestors are made again);
    None otherwise (the caller takes the general way)."""
    if node.text is not None:
        text = node.text[:start] + new + node.text[end:]
        if len(text) > MAX_CHUNK or (len(text) < MIN_CHUNK and not alone):
            return None
        return _leaf(text)
    assert node.left is not None and node.right is not None
    middle = node.left.cp
    if end <= middle:  # (an insert where two chunks meet goes to the end of the left one)
        left = _replace_in_leaf(node.left, start, end, new, False)
        return None if left is None else _inner(left, node.right)
    if start >= middle:
        right = _replace_in_leaf(node.right, start - middle, end - middle, new, False)
        return None if right is None else _inner(node.left, right)
    return None  # across chunks


def _leaves(node: _Node | None) -> Iterator[_Node]:
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if n.text is not None:
            yield n
        else:
            assert n.left is not None and n.right is not None
            stack.append(n.right)
            stack.append(n.left)


class Rope:
    """An immutable text in chunks, with its length, UTF-8 size and CRC-32 at hand."""

    __slots__ = ("_root",)

    def __init__(self, text: str = "") -> None:
        self._root = _build(_chunks(text))

    @classmethod
    def _of(cls, root: _Node | None) -> Rope:
        rope = cls.__new__(cls)
        rope._root = root
        return rope

    def __len__(self) -> int:
        return 0 if self._root is None else self._root.cp

    @property
    def nbytes(self) -> int:
        """The text's size in UTF-8 bytes."""
        return 0 if self._root is None else self._root.nbytes

    @property
    def crc32(self) -> int:
        """zlib.crc32 of the text's UTF-8 bytes."""
        return 0 if self._root is None else self._root.crc

    def hash(self) -> str:
        """The wire contract's `hash`: patches.text_hash(str(self)), without reading the text."""
        return format(self.crc32, "08x")

    def __str__(self) -> str:
        return "".join(leaf.text or "" for leaf in _leaves(self._root))

    def __repr__(self) -> str:
        return f"Rope({len(self)} code points, hash {self.hash()})"

    def __getitem__(self, key: slice) -> str:
        """`rope[a:b]`: the code points a..b as a str (steps other than 1 are not supported)."""
        start, stop, step = key.indices(len(self))
        if step != 1:
            raise ValueError("a rope's slices have no step")
        out: list[str] = []
        node, offset = self._root, 0  # offset: where `node` starts
        stack: list[tuple[_Node, int]] = [(node, 0)] if node is not None else []
        while stack and start < stop:
            node, offset = stack.pop()
            if offset >= stop or offset + node.cp <= start:
                continue
            if node.text is not None:
                out.append(node.text[max(0, start - offset):stop - offset])
                continue
            assert node.left is not None and node.right is not None
            stack.append((node.right, offset + node.left.cp))
            stack.append((node.left, offset))
        return "".join(out)

    def replace(self, start: int, end: int, new: str) -> Rope:
        """A rope with code points [start, end) replaced by `new`."""
        if not 0 <= start <= end <= len(self):
            raise IndexError(f"replace({start}, {end}) is outside a text of {len(self)} code points")
        root = self._root
        if root is None:
            return Rope(new)
        fast = _replace_in_leaf(root, start, end, new, True)
        if fast is not None:
            return Rope._of(fast)
        # the general way: cut at both ends, make the chunks at the cuts again with `new`
        # between them (one more neighbour while that is too small), and join the three
        before, rest = _split(root, start)
        _, after = _split(rest, end - start)
        middle = new
        if before is not None:
            before, text = _pop_last(before)
            middle = text + middle
        if after is not None:
            text, after = _pop_first(after)
            middle += text
        while len(middle) < MIN_CHUNK and (before is not None or after is not None):
            if before is not None:
                before, text = _pop_last(before)
                middle = text + middle
            else:
                assert after is not None
                text, after = _pop_first(after)
                middle += text
        return Rope._of(_join(_join(before, _build(_chunks(middle))), after))

    def edit(self, edits: Sequence[Edit]) -> Rope:
        """A rope with sorted, non-overlapping `edits` (made on this text) applied, the
        cheaper of two ways by what they cost: each edit on its own copies a chunk and the
        path to it (~CHUNK code points of work), the span they cover made again once costs
        its length. A hunk of 650,000 alternating lines took 47 s the first way (one replace
        per edit); a few keystrokes far apart in a large text stay a chunk each."""
        if not edits:
            return self
        lo, hi = edits[0].pos, edits[-1].end
        if len(edits) > 1 and hi - lo < len(edits) * CHUNK:
            return self.replace(lo, hi, apply_edits(self[lo:hi], [Edit(e.pos - lo, e.delete, e.insert) for e in edits]))
        rope = self
        for e in reversed(edits):  # from the end: each edit's position stays right
            rope = rope.replace(e.pos, e.end, e.insert)
        return rope

    def apply(self, hunks: Sequence[Hunk]) -> tuple[Rope, list[Edit]]:
        """patches.apply_patch on this text: the new rope and the edits (on this text).
        Reads only the part of the text patch_span gives and copies only the chunks the
        edits touch; raises as apply_patch does, with the same messages."""
        lo, hi = patch_span(hunks, len(self))
        _, edits = apply_patch(self[lo:hi], hunks, lo)
        return self.edit(edits), edits

    def chunks(self) -> int:
        """How many chunks hold the text (for tests and the benchmark)."""
        return sum(1 for _ in _leaves(self._root))
