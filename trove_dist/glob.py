"""Key globs, as used by routes and middleware scopes.

The rules are gitignore's, because that is what people already write for paths:

* ``*`` matches within one segment, ``**`` across any number of segments, ``?`` one character,
  ``[abc]`` / ``[!abc]`` a character class;
* a pattern with no ``/`` matches the last segment anywhere (``*.log`` matches ``a/b/c.log``);
* a pattern with a ``/`` is anchored at the start of the key (``tmp/*`` matches ``tmp/x`` but not
  ``tmp/x/y``; ``tmp/**`` matches both).
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    if not pattern:
        raise ValueError("empty glob pattern")
    anchored = "/" in pattern.rstrip("/")
    body = _translate(pattern.lstrip("/") if anchored else pattern)
    return re.compile(("" if anchored else r"(?:.*/)?") + body + r"\Z", re.DOTALL)


def glob_match(pattern: str, key: str) -> bool:
    return compile_glob(pattern).match(key) is not None


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append(r"(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(r".*")
            i += 2
        elif c == "*":
            out.append(r"[^/]*")
            i += 1
        elif c == "?":
            out.append(r"[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern.startswith("[!", i) or pattern.startswith("[]", i) else i + 1)
            if end < 0:
                out.append(re.escape(c))
                i += 1
                continue
            inner = pattern[i + 1 : end]
            if inner.startswith("!"):
                inner = "^" + inner[1:]
            out.append("[" + inner.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)
