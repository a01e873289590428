"""Reading a derivation file's bytes safely; free of SymPy, so a fully cached run never imports it."""

from __future__ import annotations

import os
import stat

from klproof.errors import ParseError, Span

MAX_FILE_BYTES = 1_000_000


def read_source(path: str) -> bytes:
    """The bytes of the derivation file at `path`, read safely.

    Only regular files are read (a FIFO or a device would block or never end), at
    most MAX_FILE_BYTES + 1 bytes (so an oversized file is reported, not loaded),
    and a symlink loop or an unreadable file becomes a ParseError.
    """
    top = Span(str(path), 1)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ParseError(f"cannot open the file: {exc.strerror or exc}", top,
                         "check that the path exists, is readable and is not a symlink loop") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = ("a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "a folder" if stat.S_ISDIR(mode) else "not a file")
            raise ParseError(f"not a regular file ({what})", top, "derivation files are regular *.toml files")
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_FILE_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise ParseError(f"cannot read the file: {exc.strerror or exc}", top) from None
    finally:
        os.close(fd)
