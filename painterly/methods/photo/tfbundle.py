"""Read a TensorFlow 2 *bundle* checkpoint (`NAME.index` + `NAME.data-00000-of-00001`) with numpy only.

The `.index` file is a LevelDB-format table (an SSTable): data blocks of prefix-compressed
key/value entries, an index block pointing at them, and a 48-byte footer with the block
handles and a magic number. Each key is a tensor name; each value a `BundleEntryProto`
(protobuf) giving dtype, shape, shard, offset, size and a masked CRC-32C of the bytes in the
data shard. The empty key holds the `BundleHeaderProto`. Only the few protobuf fields needed
are decoded here, by hand; no TensorFlow or protobuf package is used.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np

from ...errors import InputError

_MAGIC = 0xDB4775248B80FB57
#: TensorFlow DataType enum -> numpy dtype (the ones a weights file holds).
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 6: np.int8, 9: np.int64, 10: np.bool_,
           14: np.uint16, 19: np.float16}
_DT_STRING = 7


@dataclass(frozen=True)
class Entry:
    """Where one tensor lies in the data shard."""

    name: str
    dtype: int            # TensorFlow DataType enum value
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int           # masked CRC-32C of the tensor's bytes (0 when absent)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: bytes):
    """Yield (field number, wire type, value) of a protobuf message; length-delimited values as bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 1:
            val, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            val, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, wire, val


def _shape(buf: bytes) -> tuple[int, ...]:
    """TensorShapeProto: repeated Dim dim = 2 {int64 size = 1}; unknown_rank = 3."""
    dims = []
    for num, _, val in _fields(buf):
        if num == 2:
            size = 0
            for n2, _, v2 in _fields(val):
                if n2 == 1:
                    size = v2 - (1 << 64) if v2 >= 1 << 63 else v2
            dims.append(size)
    return tuple(dims)


def _entry(name: str, buf: bytes) -> Entry:
    """BundleEntryProto: dtype 1, shape 2, shard_id 3, offset 4, size 5, crc32c 6 (fixed32), slices 7."""
    vals = {"dtype": 0, "shape": (), "shard": 0, "offset": 0, "size": 0, "crc32c": 0}
    for num, _, val in _fields(buf):
        if num == 1:
            vals["dtype"] = val
        elif num == 2:
            vals["shape"] = _shape(val)
        elif num in (3, 4, 5):
            vals[("shard", "offset", "size")[num - 3]] = val
        elif num == 6:
            vals["crc32c"] = val
        elif num == 7:
            raise ValueError(f"tensor {name} is stored in slices (not supported)")
    return Entry(name, **vals)


def _block(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """The (key, value) entries of one uncompressed table block."""
    if data[offset + size] != 0:
        raise ValueError("compressed table blocks are not supported")
    block = data[offset:offset + size]
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    out, pos, key = [], 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        out.append((key, block[pos:pos + vlen]))
        pos += vlen
    return out


def read_index(path: Union[str, os.PathLike]) -> dict[str, Entry]:
    """Tensor name -> Entry for every tensor of a bundle's `.index` file (header and strings left out)."""
    data = Path(path).read_bytes()
    if len(data) < 48 or struct.unpack_from("<Q", data, len(data) - 8)[0] != _MAGIC:
        raise InputError(f"'{path}' is not a TensorFlow checkpoint index (no table magic number)")
    footer = data[-48:]
    _, pos = _varint(footer, 0)          # metaindex handle (offset, size): unused
    _, pos = _varint(footer, pos)
    idx_off, pos = _varint(footer, pos)
    idx_size, pos = _varint(footer, pos)
    entries: dict[str, Entry] = {}
    for _, handle in _block(data, idx_off, idx_size):
        off, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        for key, value in _block(data, off, size):
            if not key:                  # BundleHeaderProto
                continue
            e = _entry(key.decode("utf-8"), value)
            entries[e.name] = e
    return entries


# ---- CRC-32C (Castagnoli), as TensorFlow stores it: masked -----------------------------------------

def _crc_table() -> np.ndarray:
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(0x82F63B78), t >> 1).astype(np.uint32)
    return t


_TABLE = _crc_table().tolist()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def read_bundle(prefix: Union[str, os.PathLike], check_crc: bool = True) -> dict[str, np.ndarray]:
    """Every numeric tensor of the checkpoint `prefix` (the path without `.index`), as numpy arrays."""
    prefix = str(prefix)
    index = read_index(prefix + ".index")
    shards: dict[int, bytes] = {}
    out: dict[str, np.ndarray] = {}
    n_shards = 1 + max((e.shard for e in index.values()), default=0)
    for name, e in sorted(index.items()):
        if e.dtype == _DT_STRING:        # the object graph (a serialised proto): not a weight
            continue
        if e.dtype not in _DTYPES:
            raise InputError(f"tensor {name} of '{prefix}' has an unsupported dtype {e.dtype}")
        if e.shard not in shards:
            shard = Path(f"{prefix}.data-{e.shard:05d}-of-{n_shards:05d}")
            if not shard.is_file():
                raise InputError(f"checkpoint data file '{shard}' not found")
            shards[e.shard] = shard.read_bytes()
        raw = shards[e.shard][e.offset:e.offset + e.size]
        if len(raw) != e.size:
            raise InputError(f"checkpoint '{prefix}' is truncated at tensor {name}")
        if check_crc and e.crc32c and masked_crc32c(raw) != e.crc32c:
            raise InputError(f"tensor {name} of '{prefix}' fails its CRC-32C check: the file is damaged")
        out[name] = np.frombuffer(raw, dtype=_DTYPES[e.dtype]).reshape(e.shape).copy()
    return out
