"""Opening a path under a directory without ever following a symlink, in one system call.

Linux's ``openat2`` with ``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`` refuses any path that would
leave the starting directory or cross a symlink, atomically — the same guarantee as opening one
component at a time with ``O_NOFOLLOW``, for one call instead of one per component.  Python does
not wrap it, so this module calls it through ``ctypes``; where the kernel lacks it (before 5.6,
or a seccomp policy that refuses it) ``available`` is False and callers walk component by
component instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform

_SYS_OPENAT2 = {"x86_64": 437, "aarch64": 437}.get(platform.machine())
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def open_beneath(dir_fd: int, path: str, flags: int, mode: int = 0) -> int:
    """``openat2(dir_fd, path, flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)``; raises OSError
    (``ELOOP`` for a symlink on the way, ``ENOENT``, ``ENOTDIR`` … as ``open`` does)."""
    if _SYS_OPENAT2 is None:
        raise OSError(errno.ENOSYS, "openat2 is not known on this architecture")
    how = _OpenHow(flags | os.O_CLOEXEC, mode, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
    encoded = os.fsencode(path)
    fd = _syscall(_SYS_OPENAT2, dir_fd, encoded, ctypes.byref(how), ctypes.sizeof(how))
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), path)
    return int(fd)


def _probe() -> bool:
    root = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.close(open_beneath(root, ".", os.O_RDONLY | os.O_DIRECTORY))
    except OSError:
        return False
    finally:
        os.close(root)
    return True


available = _probe()
