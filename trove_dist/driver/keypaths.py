"""How object keys map to file names on a filesystem-like backend (local, SFTP) — and back.

A key is split on ``/``; each segment becomes one path component, so plain keys such as
``docs/readme.md`` are stored as the files you would expect and stay readable by any tool.
Segments a filesystem cannot hold as they are get escaped, reversibly:

* ``%`` becomes ``%25`` and a leading ``.`` becomes ``%2E``.  Every name that starts with a dot
  is therefore the driver's own (temporary files, internal state): no key can reach one.
* an empty segment (``/a``, ``a//b``, the ``dir/`` marker) is stored as a lone ``%``.
* a segment longer than a file name may be (255 bytes) is cut into pieces; every piece but the
  last is a *continuation directory* whose name ends in ``%~``.  Escaped names never contain
  ``%~``, so continuation directories are unambiguous.

``..``, ``.``, backslashes and NUL never reach this module: ``validate_key`` refuses them.
"""

from __future__ import annotations

#: Longest component this module produces (ext4, XFS and most others allow 255 bytes).
MAX_PIECE_BYTES = 240
EMPTY_SEGMENT = "%"
CONTINUATION = "%~"


def encode_segment(segment: str) -> str:
    if not segment:
        return EMPTY_SEGMENT
    escaped = segment.replace("%", "%25")
    if escaped.startswith("."):
        escaped = "%2E" + escaped[1:]
    return escaped


def decode_name(name: str) -> str:
    """Invert ``encode_segment`` for one stored name (a continuation marker already removed)."""
    if name == EMPTY_SEGMENT:
        return ""
    if name.startswith("%2E"):
        name = "." + name[3:]
    return name.replace("%25", "%")


def is_canonical(name: str) -> bool:
    """True for names this module could have written; files put there by other tools with
    names like ``50%.txt`` are not objects of this driver and are not listed."""
    return encode_segment(decode_name(name)) == name


def _escape_dot(piece: str) -> str:
    return "%2E" + piece[1:] if piece.startswith(".") else piece


def _split_piece(escaped: str) -> tuple[str, str]:
    """Cut the longest head of ``escaped`` that fits, never inside ``%25`` or a character."""
    used = 0
    i = 0
    while i < len(escaped):
        step = 3 if escaped.startswith("%25", i) else 1
        size = len(escaped[i : i + step].encode("utf-8"))
        if used + size > MAX_PIECE_BYTES:
            break
        used += size
        i += step
    return escaped[:i], escaped[i:]


def segment_components(segment: str) -> list[str]:
    """The path components one key segment is stored as (usually exactly one).

    Every piece of a cut segment gets its own leading-dot escape, so no piece is ever hidden
    in the driver's dot namespace.
    """
    if not segment:
        return [EMPTY_SEGMENT]
    escaped = segment.replace("%", "%25")
    if len(escaped.encode("utf-8")) <= MAX_PIECE_BYTES:
        return [_escape_dot(escaped)]
    pieces: list[str] = []
    rest = escaped
    while len(rest.encode("utf-8")) > MAX_PIECE_BYTES:
        head, rest = _split_piece(rest)
        pieces.append(_escape_dot(head) + CONTINUATION)
    pieces.append(_escape_dot(rest))
    return pieces


def key_components(key: str) -> list[str]:
    """All path components of ``key``: directories first, the object's file name last."""
    components: list[str] = []
    for segment in key.split("/"):
        components.extend(segment_components(segment))
    return components


def prefix_directories(prefix: str) -> tuple[list[str], str]:
    """For a listing prefix, the directory chain that holds every matching key and the key
    prefix that chain stands for (``"a/b/c"`` -> components of ``a``, ``b`` and ``"a/b/"``)."""
    complete = prefix.split("/")[:-1]
    components: list[str] = []
    for segment in complete:
        components.extend(segment_components(segment))
    return components, "".join(s + "/" for s in complete)
