"""Contact sheets: rows of thumbnails, labelled, for previews of a video and for training's progress."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL_WIDTH = 130
HEADER = 26


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def contact_sheet(rows: list[tuple[str, list[np.ndarray]]], headers: list[str], thumb: int) -> Image.Image:
    """Rows of thumbnails (`thumb` px wide, aspect kept), each row labelled, each column headed. With no
    labels and no headers (training's progress strip) the thumbnails sit edge to edge."""
    labelled = any(label for label, _ in rows)
    left, top = (LABEL_WIDTH if labelled else 0), (HEADER if headers else 0)
    gap = 4 if labelled or headers else 0
    columns = max(len(headers), *(len(cells) for _, cells in rows))
    heights = [max(round(c.shape[0] * thumb / c.shape[1]) for c in cells) for _, cells in rows]
    sheet = Image.new("RGB", (left + columns * (thumb + gap), top + sum(h + gap for h in heights)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, text in enumerate(headers):
        draw.text((left + c * (thumb + gap) + 4, 5), text, fill="black", font=_font(14))
    y = top
    for (label, cells), height in zip(rows, heights):
        if label:
            draw.text((6, y + height // 2 - 8), label, fill="black", font=_font(15))
        for c, cell in enumerate(cells):
            size = (thumb, round(cell.shape[0] * thumb / cell.shape[1]))
            sheet.paste(Image.fromarray(cell).resize(size, Image.Resampling.LANCZOS), (left + c * (thumb + gap), y))
        y += height + gap
    return sheet
