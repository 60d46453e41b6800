"""Font lookup for text drawn into images (contact-sheet captions, burnt-in subtitles).

Chinese text needs a font with CJK glyphs; Pillow's built-in font has none and draws boxes.
:func:`find_cjk_font` looks in the places where Debian/Ubuntu (``fonts-noto-cjk``,
``fonts-wqy-zenhei``), macOS and Windows keep one, then asks fontconfig; :func:`load_font` returns
that font, or Pillow's default font (Latin only) with one logged warning when there is none.
"""

from __future__ import annotations

import functools
import glob
import logging
import shutil
import subprocess
from pathlib import Path

from PIL import ImageFont

log = logging.getLogger(__name__)

# Tried in order; a glob may match several files, Regular weights are listed before Bold ones.
_CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian/Ubuntu fonts-noto-cjk
    "/usr/share/fonts/opentype/noto/NotoSansCJK*-Regular.*",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch, Fedora
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",  # macOS
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/msyh.ttc",  # Windows: Microsoft YaHei
    "C:/Windows/Fonts/simhei.ttf",
)


@functools.lru_cache(maxsize=1)
def find_cjk_font() -> Path | None:
    """Return the path of an installed font that covers Chinese (CJK) text, or ``None``.

    Looks at the usual install locations first, then asks ``fc-list :lang=zh``. The result is
    cached for the life of the process.
    """
    for pattern in _CJK_FONT_CANDIDATES:
        for match in sorted(glob.glob(pattern)):
            return Path(match)
    return _fc_list_cjk_font()


def _fc_list_cjk_font() -> Path | None:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        result = subprocess.run([fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # Each line reads "/path/to/font.ttc: "; prefer regular weights for body text.
    paths = sorted(line.split(":")[0].strip() for line in result.stdout.splitlines() if line.strip())
    paths.sort(key=lambda p: ("bold" in p.lower(), "serif" in p.lower()))
    for p in paths:
        if Path(p).is_file():
            return Path(p)
    return None


@functools.lru_cache(maxsize=32)
def load_font(size: int, *, cjk: bool = True) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font of ``size`` pixels for ``ImageDraw.text``, cached by ``(size, cjk)``.

    With ``cjk=True`` (the default) this is the font :func:`find_cjk_font` finds, using the
    Simplified-Chinese face of a font collection; if none is installed, Pillow's default font,
    which draws CJK characters as boxes (install ``fonts-noto-cjk`` to fix that). With
    ``cjk=False`` it is always Pillow's default font.
    """
    if cjk:
        path = find_cjk_font()
        if path is not None:
            return ImageFont.truetype(str(path), size, index=_simplified_chinese_face(path))
        log.warning(
            "no CJK font found; Chinese text will render as boxes. Install one, e.g. `apt-get install fonts-noto-cjk`."
        )
    return ImageFont.load_default(size)


def _simplified_chinese_face(path: Path) -> int:
    """Index of the "SC" face in a .ttc collection (Noto CJK ships JP first), else 0."""
    if path.suffix.lower() != ".ttc":
        return 0
    for index in range(16):
        try:
            family, _style = ImageFont.truetype(str(path), 12, index=index).getname()
        except OSError:  # past the last face of the collection
            break
        if family is not None and family.endswith(" SC"):
            return index
    return 0
