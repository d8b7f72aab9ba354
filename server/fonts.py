"""Finding a CJK font for images drawn with Pillow (posters, certificates).

One discovery for every domain: the configured path first, then common system fonts (Debian:
`fonts-wqy-microhei`, which the Makefile installs, or `fonts-noto-cjk`), then whatever
`fc-list :lang=zh` knows. None when the machine has no Chinese font: callers then draw an
English caption rather than boxes.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

CANDIDATE_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


@functools.cache
def find_cjk_font(configured: str | None = None) -> str | None:
    """The path of a font that can draw Chinese, or None (looked up once per process)."""
    for path in (configured, *CANDIDATE_FONTS):
        if path and Path(path).is_file():
            return path
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        found = subprocess.run(  # noqa: S603 (fixed arguments, no user input)
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=3
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in found.splitlines():
        path = line.split(":")[0].strip()
        if path and Path(path).is_file():
            return path
    return None
