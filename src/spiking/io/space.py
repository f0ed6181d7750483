"""Disk space during a run: telling a full disk from other write errors, and keeping room ahead of a file.

HDF5 does not survive running out of space in the middle of a flush (the file
is left unreadable), so :class:`~spiking.io.spikefile.SpikeWriter` never lets
it: before each chunk of spikes it asks the file system for the room that
chunk can take (:class:`Room`, ``posix_fallocate`` past HDF5's end of file).
A full disk then fails that request, before HDF5 writes anything, and the
file can still be closed in the room kept for closing.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from ..errors import DiskFullError

__all__ = ["DISK_FULL_ERRNOS", "is_disk_full", "as_disk_full", "Room"]

logger = logging.getLogger(__name__)

#: ``errno`` values that mean the file system (or the user's quota) has no room left.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` (an ``OSError``, or HDF5's error as h5py raises it) says the disk is full."""
    if isinstance(err, DiskFullError):
        return True
    if isinstance(err, OSError) and err.errno in DISK_FULL_ERRNOS:
        return True
    text = str(err)
    return isinstance(err, (OSError, RuntimeError)) and any(f"errno = {n}," in text for n in DISK_FULL_ERRNOS)


def _free_mb(path) -> float:
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        st = os.statvfs(p)
    except OSError:
        return float("nan")
    return st.f_bavail * st.f_frsize / 1e6


def as_disk_full(err: BaseException, path=None) -> DiskFullError | None:
    """``err`` as a one-line :class:`DiskFullError` naming the file and the free space, or None if not a full disk."""
    if isinstance(err, DiskFullError):
        return err
    if not is_disk_full(err):
        return None
    where = path or getattr(err, "filename", None)
    what = f"{where}: " if where else ""
    free = f" ({_free_mb(where):.1f} MB free)" if where else ""
    return DiskFullError(f"disk full: {what}no space left on the device{free}")


class Room:
    """Space reserved on disk past the end of a file that another library writes.

    Parameters
    ----------
    path : path-like
        The file (it must exist).

    Notes
    -----
    :meth:`ensure` extends the file's allocation with ``posix_fallocate`` up to
    a given offset; writes below it need no new blocks, so they cannot fail for
    want of space. Where the file system cannot preallocate (no ``fallocate``),
    :attr:`active` turns False and nothing is reserved.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.fd: int | None = os.open(self.path, os.O_WRONLY)
        self.end = 0
        self.active = hasattr(os, "posix_fallocate")

    def ensure(self, end: int) -> None:
        """Make sure blocks are allocated up to byte ``end`` of the file.

        Raises
        ------
        DiskFullError
            The file system has no room for it (nothing has been written).
        """
        if not self.active or self.fd is None or end <= self.end:
            return
        start = max(self.end, os.fstat(self.fd).st_size)
        try:
            if end > start:
                os.posix_fallocate(self.fd, start, end - start)
        except OSError as err:
            if err.errno in DISK_FULL_ERRNOS:
                need = (end - start) / 1e6
                raise DiskFullError(
                    f"disk full: {self.path}: no space left on the device ({_free_mb(self.path):.1f} MB free, "
                    f"the next chunk of spikes needs up to {need:.1f} MB)"
                ) from None
            self.active = False  # cannot preallocate here: write without the guard
            return
        self.end = end

    def release(self, size: int | None = None) -> None:
        """Give back the blocks past ``size`` bytes (the file's real end) and stop reserving."""
        if self.fd is None:
            return
        try:
            if size is not None and self.active:
                os.ftruncate(self.fd, size)
        except OSError as err:
            logger.warning(
                "%s: the room reserved past its end could not be given back (%s): the file is larger than its data",
                self.path,
                err.strerror or err,
            )
        finally:
            os.close(self.fd)
            self.fd = None
