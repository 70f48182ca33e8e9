"""CRC-32 of a concatenation from its parts' CRC-32s: `combine` (zlib's crc32_combine).

The wire contract's `hash` is zlib.crc32 of the text's UTF-8 bytes. A text held in chunks
(rope.py) keeps each chunk's CRC-32 and combines them, so that a one-character edit
re-hashes one chunk and re-combines a path of the tree instead of the whole text.

CRC-32 is linear over GF(2): crc(A + B) = crc(A) moved over len(B) zero bytes, XOR crc(B).
"Moving over n zero bytes" is a 32x32 bit matrix (an operator); zlib's crc32_combine
(crc32.c, Mark Adler) builds the operator for one zero bit from the polynomial and squares
it to get those for 2, 4, 8, ... bits, then applies the ones of the set bits of n. Here the
operator for 2**k bytes is built once per k (at import, ~10 ms on an idle core) and kept as four tables of
256 entries, one per byte of the CRC, so applying it is four lookups instead of 32 steps of
pure Python. Python 3.11's zlib has no crc32_combine, and no maintained pure-Python package
does this (crcmod, crc32c compute, but do not combine): it is these few lines.

Pure: no I/O.
"""
from __future__ import annotations

import zlib

POLY = 0xEDB88320  # CRC-32's polynomial, bit-reversed (zlib's)

Matrix = list[int]  # 32 columns: matrix[i] is the image of bit i (zlib's gf2 matrices)


def _times(matrix: Matrix, vector: int) -> int:
    """matrix x vector over GF(2) (zlib's gf2_matrix_times)."""
    out, i = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[i]
        vector >>= 1
        i += 1
    return out


def _square(matrix: Matrix) -> Matrix:
    """matrix x matrix (zlib's gf2_matrix_square): the operator applied twice."""
    return [_times(matrix, column) for column in matrix]


def _byte_tables(matrix: Matrix) -> list[int]:
    """The operator as 4 x 256 entries: table[256 * j + b] is the image of byte b at byte j."""
    table = [0] * 1024
    for j in range(4):
        base = 256 * j
        for b in range(1, 256):
            low = b & -b  # b's lowest set bit: b's image is that bit's image XOR the rest's
            table[base + b] = table[base + (b ^ low)] ^ matrix[8 * j + low.bit_length() - 1]
    return table


def _one_byte() -> Matrix:
    """The operator for one zero byte: the one for a zero bit, squared three times."""
    bit = [POLY] + [1 << (i - 1) for i in range(1, 32)]  # one zero bit: shift right, XOR POLY if bit 0
    for _ in range(3):
        bit = _square(bit)
    return bit


def _all_tables(levels: int) -> list[list[int]]:
    """The operators for 1, 2, 4, ... 2**(levels - 1) zero bytes, as byte tables."""
    matrix, tables = _one_byte(), []
    for _ in range(levels):
        tables.append(_byte_tables(matrix))
        matrix = _square(matrix)
    return tables


LEVELS = 36  # texts up to 2**36 bytes (64 GiB): far past any document
# made once, at import: made on first use instead, two threads (the event loop and a write
# offloaded to a worker) could each append the same level, and every CRC after was wrong
_TABLES = _all_tables(LEVELS)


def shift(crc: int, nbytes: int) -> int:
    """The CRC register `crc` moved over `nbytes` zero bytes (what combine needs)."""
    if nbytes >> LEVELS:
        raise ValueError(f"{nbytes} bytes is past what crc32.shift supports (2**{LEVELS})")
    tables = _TABLES
    while nbytes:
        low = nbytes & -nbytes  # one operator per set bit of nbytes, each four lookups
        nbytes ^= low
        t = tables[low.bit_length() - 1]
        crc = t[crc & 0xFF] ^ t[256 + ((crc >> 8) & 0xFF)] ^ t[512 + ((crc >> 16) & 0xFF)] ^ t[768 + (crc >> 24)]
    return crc


def combine(crc1: int, crc2: int, len2: int) -> int:
    """zlib.crc32(a + b) from crc1 = zlib.crc32(a), crc2 = zlib.crc32(b) and len2 = len(b)."""
    return shift(crc1, len2) ^ crc2


def crc32(data: bytes) -> int:
    """zlib.crc32 (unsigned), the leaves' hash."""
    return zlib.crc32(data) & 0xFFFFFFFF
