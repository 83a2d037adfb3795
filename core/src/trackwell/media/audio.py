"""``trackwell.Audio``: W&B's ``wandb.Audio``; arrays become WAV files written here.

WAV needs no codec library: 16-bit PCM (integer input, or floats in [-1, 1]) through
the standard library's ``wave`` module, which every decoder reads.
"""

from __future__ import annotations

import io
import os
import wave
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trackwell.media import _util
from trackwell.media.base import Media, MediaContext, copy_file, require, write_file

SUFFIXES = (".wav", ".mp3", ".ogg", ".flac", ".m4a", ".aac", ".opus", ".webm")


class Audio(Media):
    """Audio from a numpy array (``samples`` or ``samples x channels``) with
    ``sample_rate``, or from a file path."""

    _type = "audio-file"

    def __init__(self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None) -> None:
        self.caption = None if caption is None else str(caption)
        self.sample_rate: int | None = sample_rate
        self._path: Path | None = None
        self._samples: Any = None
        self._file: tuple[bytes, str] | None = None  # read back, not decoded: (bytes, ".mp3")
        if isinstance(data_or_path, (str, os.PathLike)):
            self._path = _util.existing_file(data_or_path, "trackwell.Audio")
            if self._path.suffix.lower() not in SUFFIXES:
                raise ValueError(
                    f"trackwell.Audio: {str(self._path)!r} is not an audio file ({', '.join(SUFFIXES)})"
                )
            return
        if sample_rate is None:
            raise ValueError(
                "trackwell.Audio: sample_rate is required when logging an array, e.g. sample_rate=16000"
            )
        if not isinstance(sample_rate, int) or isinstance(sample_rate, bool) or sample_rate <= 0:
            raise ValueError(f"trackwell.Audio: sample_rate must be a positive integer, got {sample_rate!r}")
        self._samples = _pcm16(_util.to_numpy(data_or_path, "trackwell.Audio"))

    @property
    def duration(self) -> float | None:
        if self._samples is None or not self.sample_rate:
            return None
        return len(self._samples) / self.sample_rate

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        if self._path is not None:
            record = copy_file(ctx, self._type, self._path, "audio", self._path.suffix.lower())
        elif self._file is not None:
            record = write_file(ctx, self._type, self._file[0], "audio", self._file[1])
            if self.sample_rate:
                record["sample_rate"] = self.sample_rate
        else:
            record = write_file(ctx, self._type, self.wav_bytes(), "audio", ".wav")
            record["sample_rate"] = self.sample_rate
            record["duration"] = self.duration
        if self.caption is not None:
            record["caption"] = self.caption
        return record

    def wav_bytes(self) -> bytes:
        """The samples as a 16-bit PCM WAV file."""
        samples = self._samples
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1 if samples.ndim == 1 else samples.shape[1])
            w.setsampwidth(2)
            w.setframerate(self.sample_rate or 0)  # set for arrays (required there)
            w.writeframes(samples.astype("<i2").tobytes())
        return buf.getvalue()

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> Audio:
        """The audio a record names: a 16-bit PCM WAV is decoded into samples; any other
        file (mp3, ogg, flac, a 24-bit WAV, ...) is kept as its bytes and format, which
        ``file_bytes()`` and ``format`` give back and logging again stores unchanged."""
        path = str(record["path"])
        data = read(path)
        suffix = Path(path).suffix.lower()
        if suffix == ".wav":
            np = require("numpy", "trackwell.Audio")
            try:
                with wave.open(io.BytesIO(data), "rb") as w:
                    if w.getsampwidth() == 2:
                        channels, rate = w.getnchannels(), w.getframerate()
                        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
                        if channels > 1:
                            frames = frames.reshape(-1, channels)
                        return cls(frames, sample_rate=rate, caption=record.get("caption"))
            except (wave.Error, EOFError):
                pass  # a WAV the wave module cannot read (float, compressed): kept as bytes
        out = cls.__new__(cls)
        out.caption = record.get("caption")
        logged_rate = record.get("sample_rate")
        out.sample_rate = logged_rate if isinstance(logged_rate, int) else None
        out._path, out._samples, out._file = None, None, (data, suffix or ".bin")
        return out

    @property
    def format(self) -> str:
        """The file format: ``"wav"`` for samples, else the file's extension (``"mp3"``)."""
        if self._path is not None:
            return self._path.suffix.lower().lstrip(".")
        if self._file is not None:
            return self._file[1].lstrip(".")
        return "wav"

    def file_bytes(self) -> bytes:
        """The audio file's bytes as they would be logged (samples encoded as WAV)."""
        if self._path is not None:
            return self._path.read_bytes()
        if self._file is not None:
            return self._file[0]
        return self.wav_bytes()

    def samples(self) -> Any:
        """The samples as an int16 array (``samples`` or ``samples x channels``); None for
        a file that is not 16-bit PCM WAV (see ``file_bytes()``)."""
        return self._samples


def _pcm16(arr: Any) -> Any:
    np = require("numpy", "trackwell.Audio")
    if arr.ndim not in (1, 2) or arr.size == 0 or (arr.ndim == 2 and arr.shape[1] > 16):
        raise ValueError(
            f"trackwell.Audio: samples must be a 1-D array or (samples, channels) with at most 16 channels, "
            f"got shape {arr.shape}"
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError("trackwell.Audio: the samples hold NaN or infinite values")
        peak = float(np.abs(arr).max())
        if peak > 1.0:
            raise ValueError(f"trackwell.Audio: float samples must be in [-1, 1], got a peak of {peak:g}")
        return np.round(arr * 32767.0).astype(np.int16)
    if arr.dtype == np.int16:
        return arr
    if arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        if info.bits <= 16 and arr.dtype.kind == "i":
            return arr.astype(np.int16)
        raise TypeError(
            f"trackwell.Audio: integer samples must be int16 (or int8), got {arr.dtype}; "
            "convert to floats in [-1, 1]"
        )
    raise TypeError(f"trackwell.Audio: samples must be floats in [-1, 1] or int16, got dtype {arr.dtype}")
