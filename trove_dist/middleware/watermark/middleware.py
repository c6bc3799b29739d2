"""``Watermark``: mark who or what an object belongs to, in its metadata and inside the file.

    trove.use(Watermark(lambda bucket, key, context: f"tenant={context['tenant']}"))
    with operation_context(tenant="acme"):
        trove.put("uploads", "scan.pdf", data)   # metadata watermark=tenant=acme, and /Watermark in the PDF

The metadata watermark is set on every object the registration's scope covers.  The embedded
one needs the whole file, so only objects that are a PNG, JPEG or PDF (see ``formats``) are held
in memory — up to ``max_embed_bytes`` — and everything else streams through untouched, chunk by
chunk, without being buffered.  Nothing is ever truncated or half-embedded:

* ``oversize``: a PNG/JPEG/PDF larger than ``max_embed_bytes`` is stored unchanged with only
  the metadata watermark and a logged warning (``"skip"``), or refused with ``ContentBlocked``
  (``"refuse"``).
* ``malformed``: content that claims a supported format (by content type or signature) but
  cannot carry the watermark — truncated or corrupt, an encrypted PDF, ``image/png`` that is not
  a PNG — is stored unchanged with only the metadata watermark and a logged warning
  (``"skip"``, the default: a mislabelled upload is not an attack, and the metadata still marks
  it), or refused with ``ContentBlocked`` (``"refuse"``).

Memory while embedding is about twice the file (the buffered input and the output); PDFs also
pay for pypdf's parse.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Literal

from trove_dist.errors import ContentBlocked
from trove_dist.middleware.base import ObjectMiddleware
from trove_dist.middleware.context import Operation
from trove_dist.middleware.watermark.embedding import DEFAULT_KEYWORD
from trove_dist.middleware.watermark.embedding import embed as embed_watermark
from trove_dist.middleware.watermark.formats import (
    SNIFF_BYTES,
    CannotEmbed,
    Format,
    declared_format,
    describe,
    is_generic,
    sniff,
    validate_keyword,
    validate_text,
)

logger = logging.getLogger(__name__)

#: ``(bucket, key, context) -> text``; the context is the ambient ``operation_context``.
TextFunction = Callable[[str, str, Mapping[str, object]], str]
Policy = Literal["skip", "refuse"]

DEFAULT_METADATA_NAME = "watermark"
DEFAULT_MAX_EMBED_BYTES = 64 * 1024 * 1024
_RESERVED_PREFIX = "trove-"
_PENDING_LIMIT = 1024


class Watermark(ObjectMiddleware):
    name = "watermark"

    def __init__(
        self,
        text: str | TextFunction,
        *,
        metadata_name: str | None = DEFAULT_METADATA_NAME,
        embed: bool = True,
        keyword: str = DEFAULT_KEYWORD,
        max_embed_bytes: int = DEFAULT_MAX_EMBED_BYTES,
        oversize: Policy = "skip",
        malformed: Policy = "skip",
    ) -> None:
        """``text``: the watermark, or a function of ``(bucket, key, context)`` called once per
        write.  ``metadata_name``: the metadata entry that holds it (``None``: none); it
        replaces a caller's entry of the same name.  ``embed``: also embed it in PNG, JPEG and
        PDF files, under ``keyword`` (PNG text keyword, PDF info key ``/<keyword>``, JPEG comment
        prefix ``"<keyword>: "``)."""
        if metadata_name is None and not embed:
            raise ValueError("a watermark with no metadata name and embed=False would do nothing")
        if metadata_name is not None:
            metadata_name = _validate_metadata_name(metadata_name)
        if max_embed_bytes <= 0:
            raise ValueError("max_embed_bytes must be positive")
        for policy_name, policy in (("oversize", oversize), ("malformed", malformed)):
            if policy not in ("skip", "refuse"):
                raise ValueError(f"{policy_name} must be 'skip' or 'refuse', not {policy!r}")
        if isinstance(text, str):
            validate_text(text)
        elif not callable(text):
            raise TypeError("text must be a str or a function of (bucket, key, context)")
        self.text = text
        self.metadata_name = metadata_name
        self.embed = embed
        self.keyword = validate_keyword(keyword)
        self.max_embed_bytes = max_embed_bytes
        self.oversize = oversize
        self.malformed = malformed
        # The text computed for an operation in prepare_write, taken by wrap_write, so a function
        # that is not deterministic (a timestamp) marks the metadata and the file alike.
        self._pending: OrderedDict[int, tuple[Operation, str]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Watermark metadata={self.metadata_name!r} embed={self.embed}>"

    def text_for(self, op: Operation) -> str:
        if isinstance(self.text, str):
            return self.text
        return validate_text(self.text(op.bucket, op.key, op.context))

    # ---- ObjectMiddleware ---------------------------------------------------------------

    def prepare_write(self, op: Operation, metadata: dict[str, str]) -> None:
        text = self.text_for(op)
        if self.metadata_name is not None:
            metadata[self.metadata_name] = text
        with self._lock:
            self._pending[id(op)] = (op, text)  # the entry keeps op alive, so its id stays unique
            while len(self._pending) > _PENDING_LIMIT:  # a write abandoned between the two calls
                self._pending.popitem(last=False)

    def wrap_write(self, op: Operation, chunks: Iterator[bytes]) -> Iterator[bytes]:
        with self._lock:
            pending = self._pending.pop(id(op), None)
        if not self.embed:
            return chunks
        declared = declared_format(op.content_type)
        if declared is None and not is_generic(op.content_type):
            return chunks  # another kind of content: not even looked at
        text = pending[1] if pending is not None and pending[0] is op else self.text_for(op)
        return self._embedding(op, declared, text, chunks)

    # ---- embedding ----------------------------------------------------------------------

    def _embedding(self, op: Operation, declared: Format | None, text: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        buffered: list[bytes] = []
        size = 0
        for chunk in chunks:  # just enough to see the signature
            buffered.append(chunk)
            size += len(chunk)
            if size >= SNIFF_BYTES:
                break
        first = buffered[0] if buffered and len(buffered[0]) >= SNIFF_BYTES else b"".join(buffered)
        prefix = first[:SNIFF_BYTES]
        fmt = sniff(prefix)
        if declared is not None and fmt is not declared:
            self._cannot_embed(op, f"it is labelled {op.content_type} but {describe(prefix)}")
            fmt = None
        if fmt is None:  # not ours (or mislabelled and skipped): stream the rest as it comes
            yield from buffered
            yield from chunks
            return
        if size <= self.max_embed_bytes:
            for chunk in chunks:
                buffered.append(chunk)
                size += len(chunk)
                if size > self.max_embed_bytes:
                    break
        if size > self.max_embed_bytes:
            self._too_large(op, fmt)
            yield from buffered
            yield from chunks
            return
        piece = max(max((len(c) for c in buffered), default=1), 1)
        data = b"".join(buffered)
        buffered.clear()
        try:
            data = embed_watermark(fmt, data, self.keyword, text)
        except CannotEmbed as exc:
            self._cannot_embed(op, f"the {fmt.value} cannot carry a watermark: {exc}")
        for start in range(0, len(data), piece):
            yield data[start : start + piece]

    def _too_large(self, op: Operation, fmt: Format) -> None:
        what = f"{op.bucket}/{op.key} is a {fmt.value} larger than max_embed_bytes ({self.max_embed_bytes})"
        if self.oversize == "refuse":
            raise ContentBlocked(f"{what}: its watermark cannot be embedded, so it is refused (oversize='refuse')")
        logger.warning("%s: stored without an embedded watermark (oversize='skip')", what)

    def _cannot_embed(self, op: Operation, reason: str) -> None:
        where = f"{op.bucket}/{op.key}"
        if self.malformed == "refuse":
            raise ContentBlocked(f"{where}: no watermark can be embedded, {reason} (malformed='refuse')")
        logger.warning("%s stored unchanged, without an embedded watermark: %s (malformed='skip')", where, reason)


def _validate_metadata_name(name: str) -> str:
    lowered = name.strip().lower()
    if not lowered or not lowered.isascii() or any(c in lowered for c in " :\r\n\t\x00"):
        raise ValueError(f"invalid metadata name {name!r}: use ASCII without spaces or ':'")
    if lowered.startswith(_RESERVED_PREFIX):
        raise ValueError(f"metadata names starting with {_RESERVED_PREFIX!r} are reserved: {name!r}")
    return lowered
