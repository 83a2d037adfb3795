"""TensorBoard event files without TensorFlow: the TFRecord framing and the protobuf messages.

An event file is a sequence of records, each ``uint64 length | uint32 masked
crc32c(length) | data | uint32 masked crc32c(data)`` (little-endian), and each data
an ``Event`` protocol buffer. Only the fields the importer needs are decoded, straight
from the wire format, so this works with no protobuf runtime and whichever writer
(tensorboard, tensorboardX, torch.utils.tensorboard, TensorFlow) made the file.

Field numbers are those of TensorBoard's ``event.proto``, ``summary.proto`` and
``tensor.proto``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# -- crc32c (Castagnoli), as TFRecord uses it -----------------------------------------

_POLY = 0x82F63B78
_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)

#: Records larger than this skip the data checksum unless the ``crc32c`` package is there:
#: pure Python runs at a few MB/s, and big records are images whose PNG has its own.
PURE_CRC_LIMIT = 64 * 1024


def _crc32c_py(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


try:  # optional, C speed
    from crc32c import crc32c as _crc32c_fast  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    _crc32c_fast = None


def masked_crc(data: bytes) -> int:
    crc = _crc32c_fast(data) if _crc32c_fast is not None else _crc32c_py(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class CorruptRecord(ValueError):
    """A record whose checksum does not match: the file is damaged at ``offset``."""

    def __init__(self, path: str, offset: int, what: str) -> None:
        super().__init__(f"{path}: corrupt record at byte {offset} ({what})")
        self.path = path
        self.offset = offset


class RecordReader:
    """Reads the records of one file, picking up where it stopped on the next ``read()``.

    A record still being written (its length, data or checksum not all there yet) is
    left for the next call, so the reader can follow a file that grows.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.offset = 0

    def read(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            while True:
                header = fh.read(12)
                if len(header) < 12:
                    return
                (length,) = struct.unpack("<Q", header[:8])
                (length_crc,) = struct.unpack("<I", header[8:])
                if masked_crc(header[:8]) != length_crc:
                    raise CorruptRecord(self.path, self.offset, "length checksum")
                data = fh.read(length)
                footer = fh.read(4)
                if len(data) < length or len(footer) < 4:
                    return  # still being written
                if length <= PURE_CRC_LIMIT or _crc32c_fast is not None:
                    (data_crc,) = struct.unpack("<I", footer)
                    if masked_crc(data) != data_crc:
                        raise CorruptRecord(self.path, self.offset, "data checksum")
                self.offset += 12 + length + 4
                yield data


def write_record(fh: Any, data: bytes) -> None:
    """Append one record (used by tests and by anyone making event files by hand)."""
    header = struct.pack("<Q", len(data))
    fh.write(header + struct.pack("<I", masked_crc(header)) + data + struct.pack("<I", masked_crc(data)))


# -- protobuf wire format -------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """``(field number, wire type, value)`` for each field: ints for varints and fixed
    widths (raw bits), bytes for length-delimited fields."""
    pos, end = 0, len(buf)
    value: Any
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value = buf[pos : pos + 8]
            pos += 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value = buf[pos : pos + size]
            pos += size
        elif wire == 5:
            value = buf[pos : pos + 4]
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _double(raw: bytes) -> float:
    return float(struct.unpack("<d", raw)[0])


def _float(raw: bytes) -> float:
    return float(struct.unpack("<f", raw)[0])


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _repeated(wire: int, raw: Any, fmt: str, size: int) -> list[float]:
    """A repeated double/float field: packed (one blob) or not (one value per field)."""
    if wire == 2:
        return [float(v) for v in struct.unpack(f"<{len(raw) // size}{fmt}", raw)]
    return [float(struct.unpack(f"<{fmt}", raw)[0])]


def _repeated_varint(wire: int, raw: Any) -> list[int]:
    if wire != 2:
        return [_signed(raw)]
    out, pos = [], 0
    while pos < len(raw):
        value, pos = _varint(raw, pos)
        out.append(_signed(value))
    return out


# -- the messages -----------------------------------------------------------------------


@dataclass
class Histogram:
    min: float = 0.0
    max: float = 0.0
    num: float = 0.0
    sum: float = 0.0
    sum_squares: float = 0.0
    bucket_limit: list[float] = field(default_factory=list)
    bucket: list[float] = field(default_factory=list)


@dataclass
class Image:
    height: int = 0
    width: int = 0
    colorspace: int = 0
    encoded: bytes = b""


@dataclass
class Audio:
    sample_rate: float = 0.0
    encoded: bytes = b""
    content_type: str = ""


#: TensorFlow DataType enum -> (struct format, size) for numbers stored in tensor_content.
_DTYPES = {
    1: ("f", 4),  # float
    2: ("d", 8),  # double
    3: ("i", 4),  # int32
    4: ("B", 1),  # uint8
    5: ("h", 2),  # int16
    6: ("b", 1),  # int8
    9: ("q", 8),  # int64
    10: ("?", 1),  # bool
    17: ("H", 2),  # uint16
    19: ("e", 2),  # half
    22: ("I", 4),  # uint32
    23: ("Q", 8),  # uint64
}
DT_STRING = 7


@dataclass
class Tensor:
    dtype: int = 0
    shape: list[int] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)  # flat, row-major; bytes for strings


@dataclass
class Value:
    tag: str = ""
    plugin: str = ""  # metadata.plugin_data.plugin_name: "scalars", "text", "histograms", ...
    plugin_content: bytes = b""  # metadata.plugin_data.content: the plugin's own message
    simple_value: float | None = None
    histo: Histogram | None = None
    image: Image | None = None
    audio: Audio | None = None
    tensor: Tensor | None = None


@dataclass
class Event:
    wall_time: float = 0.0
    step: int = 0
    file_version: str | None = None
    values: list[Value] = field(default_factory=list)


def _histogram(buf: bytes) -> Histogram:
    h = Histogram()
    for number, wire, raw in fields(buf):
        if number in (1, 2, 3, 4, 5) and wire == 1:
            setattr(h, ("min", "max", "num", "sum", "sum_squares")[number - 1], _double(raw))
        elif number == 6:
            h.bucket_limit += _repeated(wire, raw, "d", 8)
        elif number == 7:
            h.bucket += _repeated(wire, raw, "d", 8)
    return h


def _image(buf: bytes) -> Image:
    img = Image()
    for number, _, raw in fields(buf):
        if number == 1:
            img.height = raw
        elif number == 2:
            img.width = raw
        elif number == 3:
            img.colorspace = raw
        elif number == 4:
            img.encoded = bytes(raw)
    return img


def _audio(buf: bytes) -> Audio:
    audio = Audio()
    for number, wire, raw in fields(buf):
        if number == 1 and wire == 5:
            audio.sample_rate = _float(raw)
        elif number == 4:
            audio.encoded = bytes(raw)
        elif number == 5:
            audio.content_type = bytes(raw).decode("utf-8", "replace")
    return audio


def _shape(buf: bytes) -> list[int]:
    dims = []
    for number, _, raw in fields(buf):
        if number == 2:  # Dim
            size = 0
            for n, _, v in fields(raw):
                if n == 1:
                    size = _signed(v)
            dims.append(size)
    return dims


def _tensor(buf: bytes) -> Tensor:
    t = Tensor()
    content = b""
    typed: list[Any] = []
    for number, wire, raw in fields(buf):
        if number == 1:
            t.dtype = raw
        elif number == 2:
            t.shape = _shape(raw)
        elif number == 4:
            content = bytes(raw)
        elif number == 5:
            typed += _repeated(wire, raw, "f", 4)
        elif number == 6:
            typed += _repeated(wire, raw, "d", 8)
        elif number in (7, 10, 11, 16, 17):  # int, int64, bool, uint32, uint64
            typed += _repeated_varint(wire, raw)
        elif number == 8:
            typed.append(bytes(raw))
        elif number == 13:  # half_val: float16 bits in int32s
            typed += [
                struct.unpack("<e", struct.pack("<H", v & 0xFFFF))[0] for v in _repeated_varint(wire, raw)
            ]
    if content and t.dtype in _DTYPES:
        fmt, size = _DTYPES[t.dtype]
        t.values = list(struct.unpack(f"<{len(content) // size}{fmt}", content))
    else:
        t.values = typed
    if t.dtype == 10:
        t.values = [bool(v) for v in t.values]
    return t


def _plugin_data(metadata: bytes) -> tuple[str, bytes]:
    """(plugin_name, content) of a SummaryMetadata."""
    name, content = "", b""
    for number, _, raw in fields(metadata):
        if number == 1:  # plugin_data
            for n, _, v in fields(raw):
                if n == 1:
                    name = bytes(v).decode("utf-8", "replace")
                elif n == 2:
                    content = bytes(v)
    return name, content


def _struct_value(buf: bytes) -> Any:
    """A ``google.protobuf.Value``: null, number, string, bool (nested ones as None)."""
    for number, wire, raw in fields(buf):
        if number == 2 and wire == 1:
            value = _double(raw)
            return int(value) if value.is_integer() and abs(value) < 2**53 else value
        if number == 3:
            return bytes(raw).decode("utf-8", "replace")
        if number == 4:
            return bool(raw)
    return None


def hparams(content: bytes) -> dict[str, Any]:
    """The hyperparameters of an ``hparams`` plugin's ``session_start_info`` (else {})."""
    out: dict[str, Any] = {}
    for number, _, raw in fields(content):
        if number != 3:  # HParamsPluginData.session_start_info
            continue
        for n, _, entry in fields(raw):
            if n != 1:  # SessionStartInfo.hparams: map<string, google.protobuf.Value>
                continue
            key, value = "", None
            for k, _, v in fields(entry):
                if k == 1:
                    key = bytes(v).decode("utf-8", "replace")
                elif k == 2:
                    value = _struct_value(v)
            if key:
                out[key] = value
    return out


def _value(buf: bytes) -> Value:
    v = Value()
    for number, wire, raw in fields(buf):
        if number == 1 or (number == 7 and not v.tag):
            v.tag = bytes(raw).decode("utf-8", "replace")
        elif number == 9:
            v.plugin, v.plugin_content = _plugin_data(raw)
        elif number == 2 and wire == 5:
            v.simple_value = _float(raw)
        elif number == 4:
            v.image = _image(raw)
        elif number == 5:
            v.histo = _histogram(raw)
        elif number == 6:
            v.audio = _audio(raw)
        elif number == 8:
            v.tensor = _tensor(raw)
    return v


def decode_event(data: bytes) -> Event:
    """One ``Event`` message; the fields the importer does not use are skipped."""
    event = Event()
    for number, wire, raw in fields(data):
        if number == 1 and wire == 1:
            event.wall_time = _double(raw)
        elif number == 2 and wire == 0:
            event.step = _signed(raw)
        elif number == 3:
            event.file_version = bytes(raw).decode("utf-8", "replace")
        elif number == 5:  # Summary: repeated Value value = 1
            event.values += [_value(v) for n, _, v in fields(raw) if n == 1]
    return event


def is_event_file(name: str) -> bool:
    return "tfevents" in name and not name.endswith((".tmp", ".lock"))


def event_files(logdir: str | os.PathLike[str]) -> list[str]:
    """Every event file under ``logdir`` (recursively), in name order within each folder."""
    out = []
    for folder, dirs, files in os.walk(logdir):
        dirs.sort()
        out += [os.path.join(folder, f) for f in sorted(files) if is_event_file(f)]
    return out


def read_events(path: str | os.PathLike[str]) -> Iterator[Event]:
    """Every event of one file, decoded. Raises :class:`CorruptRecord` on a damaged record."""
    for data in RecordReader(path).read():
        yield decode_event(data)
