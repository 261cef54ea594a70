"""Big payloads in a memfd passed as 'h' (docs/payloads.md): the Python side of
offshoot/shared_buffer.hpp, for calling a class whose method takes such buffers.

    with offshoot.SharedBuffer(1 << 20) as inp, offshoot.SharedBuffer(1 << 20) as out:
        for chunk in chunks:                        # the same two buffers for every call
            inp.view[:len(chunk)] = chunk
            n = echo.EchoShared(inp, len(chunk), out)
            use(bytes(out.view[:n]))                # copy it out once: the peer can still write

A SharedBuffer is a memfd of fixed size (sealed against shrinking, growing and further seals,
still writable), mapped read-write here for as long as it is open. Its pages are allocated
once, so a call moves only bytes; the receiver checks the seals and copies out and in with
pread/pwrite. The other side can write the bytes at any time: copy out what you use, once, and
give a buffer to one peer only. The object passes as 'h' itself (it has fileno()); read and
write it through `view`, never through the descriptor (the peer shares its open file
description and could set O_APPEND on it).
"""

import ctypes
import fcntl
import mmap
import os

__all__ = ["SharedBuffer"]

_SIZE_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL
_FALLOC_FL_KEEP_SIZE, _FALLOC_FL_PUNCH_HOLE = 0x01, 0x02
_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]


def _punch_hole(fd, size):
    """Frees the pages of the whole file: a peer that kept the descriptor keeps none of ours."""
    if size:
        _libc.fallocate(fd, _FALLOC_FL_KEEP_SIZE | _FALLOC_FL_PUNCH_HOLE, 0, size)


class SharedBuffer:
    """A new memfd of `size` zero bytes, its size sealed, mapped read-write (`view`)."""

    def __init__(self, size, name="offshoot-buffer"):
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be a non-negative int, not {size!r}")
        fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            os.ftruncate(fd, size)
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SIZE_SEALS)
            self._map = mmap.mmap(fd, size) if size else None   # mmap refuses a length of 0
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.size = size

    def fileno(self):
        """The descriptor to pass as 'h' (the D-Bus library duplicates it into the message)."""
        if self._fd < 0:
            raise ValueError("the SharedBuffer is closed")
        return self._fd

    @property
    def view(self):
        """A writable memoryview of the whole buffer (empty for size 0)."""
        if self._fd < 0:
            raise ValueError("the SharedBuffer is closed")
        return memoryview(self._map) if self._map is not None else memoryview(b"")

    def close(self):
        """Frees the buffer's pages (a hole over the whole file, so a peer that kept the
        descriptor keeps none of them), unmaps it and closes the descriptor."""
        if self._map is not None:
            self._map.close()      # fails (BufferError) while a view of it is still held
            self._map = None
        if self._fd >= 0:
            _punch_hole(self._fd, self.size)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
