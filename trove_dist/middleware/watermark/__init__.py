"""Watermarks in object metadata and embedded in PNG, JPEG and PDF files (needs the
``watermark`` extra: Pillow and pypdf)."""

from importlib.util import find_spec

if find_spec("PIL") is None or find_spec("pypdf") is None:  # pragma: no cover - depends on the install
    raise ImportError("trove_dist.middleware.watermark needs Pillow and pypdf: pip install 'trove_dist[watermark]'")

from trove_dist.middleware.watermark.embedding import read_watermark
from trove_dist.middleware.watermark.formats import CannotEmbed, Format
from trove_dist.middleware.watermark.middleware import TextFunction, Watermark

__all__ = ["CannotEmbed", "Format", "TextFunction", "Watermark", "read_watermark"]
