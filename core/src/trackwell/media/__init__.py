"""Media types for ``log()``: Image, Audio, Video, Histogram, Html, Object3D, Plotly,
Molecule.

Each class lives in its own module, imported on first use, so importing this
package (or ``trackwell``) imports no numpy, PIL or av. ``base`` holds the interface
every type implements (``Media``, ``MediaContext``, ``media_type``).
"""

from __future__ import annotations

from trackwell.lazy import lazy_exports
from trackwell.media.base import Media, MediaContext, media_type

_EXPORTS = {
    "Image": ("image", "Image"),
    "Audio": ("audio", "Audio"),
    "Video": ("video", "Video"),
    "Histogram": ("histogram", "Histogram"),
    "Html": ("html", "Html"),
    "Object3D": ("object3d", "Object3D"),
    "Plotly": ("plotly", "Plotly"),
    "Molecule": ("molecule", "Molecule"),
}

__all__ = [
    "Audio",
    "Histogram",
    "Html",
    "Image",
    "Media",
    "MediaContext",
    "Molecule",
    "Object3D",
    "Plotly",
    "Video",
    "media_type",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
