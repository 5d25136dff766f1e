"""Build dir -> reproducible .tar.zst, streamed to a temporary file, hashed on the way.

Each file is read once into a reused staging buffer that feeds both its sha256 and the
compressor: a second thread hashes each full buffer and hands it to zstd (and zstd's own
workers compress it) while the next one fills, so reading, hashing and compressing
overlap. Memory stays bounded by the few staging buffers and zstd's job buffers, whatever
the size of the tree. A file whose hash the stat cache vouches for (same rules as the
plan's: lstat unchanged, not racy) is read for the archive but not hashed again; an
fstat after reading it proves it did not change meanwhile.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, cast

import zstandard

from comwit.artifact.digest import (
    changed_while_reading,
    collection_paused,
    entry_of,
    read_next,
    unreadable,
)
from comwit.artifact.levels import DEFAULT_LEVEL, MAX_LEVEL
from comwit.artifact.stat_cache import StatCache
from comwit.artifact.tarformat import HeaderMaker, end_of_archive
from comwit.artifact.tree import TreeDigest, make_tree_digest
from comwit.artifact.walk import Node, Walker, stamps
from comwit.errors import ArtifactError, os_reason
from comwit.frozen import frozen
from comwit.store.files import create_beside, free_name_beside
from comwit.store.regular import NotRegularFile, refuse_special
from comwit.terminate import held_off

DEFAULT_MTIME = 315_532_800  # 1980-01-01T00:00:00Z, when SOURCE_DATE_EPOCH is not set
_MAX_MTIME = 0o77777777777  # what the 11 octal digits of a ustar mtime hold

_STAGE_SIZE = 1 << 20
_STAGES = 6  # one filling, one hashing and compressing, four to smooth out stalls
_POLL_SECONDS = 0.5  # how often a wait on the second thread checks that it still runs
_ZEROS = bytes(512)


@frozen
class PackResult:
    path: Path
    size: int  # bytes of the .tar.zst
    tree: TreeDigest  # the same value `digest_tree` gives for this tree


def pack(
    build_dir: Path,
    out: Path,
    *,
    exclude: Sequence[str] = (),
    level: int = DEFAULT_LEVEL,
    mtime: int | None = None,
    progress: Callable[[int], None] | None = None,
    cache: StatCache | None = None,
) -> PackResult:
    """Pack `build_dir` into `out` (.tar.zst). On any error nothing is left at `out`.

    `mtime` None means SOURCE_DATE_EPOCH, else DEFAULT_MTIME. `progress`, when given, is
    called with the number of uncompressed bytes added since its previous call. `cache`,
    when given, spares hashing the files it vouches for and then learns every file's
    hash, so digesting or packing this tree again hashes nothing.
    """
    size, tree = _pack(
        build_dir, lambda walk: _partial_file(out, walk), exclude, level, mtime, progress, cache
    )
    return PackResult(path=out, size=size, tree=tree)


def pack_if(
    build_dir: Path,
    out: Path,
    confirm: Callable[[], bool],
    *,
    exclude: Sequence[str] = (),
    level: int = DEFAULT_LEVEL,
    cache: StatCache | None = None,
) -> PackResult | None:
    """`pack`, keeping the archive only if `confirm()` says so (asked once, when every file
    is hashed): otherwise nothing is left at `out`, `cache` learns nothing, and the answer is
    None.

    For packing on inputs not confirmed yet (`comwit.cli.ahead`): a pack that fails before
    completing raises as `pack` does, and its caller asks `confirm` itself.
    """
    confirmed = functools.cache(confirm)
    try:
        size, tree = _pack(
            build_dir,
            lambda walk: _partial_file(out, walk, confirmed),
            exclude,
            level,
            None,
            None,
            cache,
            confirmed,
        )
    except _Unconfirmed:
        return None
    return PackResult(path=out, size=size, tree=tree)


def pack_stream(
    build_dir: Path,
    sink: BinaryIO,
    *,
    exclude: Sequence[str] = (),
    level: int = DEFAULT_LEVEL,
    mtime: int | None = None,
    cache: StatCache | None = None,
    confirm: Callable[[], bool] | None = None,
) -> tuple[int, TreeDigest]:
    """Pack `build_dir` into `sink` (a pipe, stdout): the bytes `pack` writes to a file.
    Returns their count and the tree. On an error, what was written stays written.
    `cache` as for `pack`; it learns nothing if `confirm`, when given, says no."""
    return _pack(
        build_dir,
        lambda walk: contextlib.nullcontext(sink),
        exclude,
        level,
        mtime,
        None,
        cache,
        confirm,
    )


def _pack(
    build_dir: Path,
    open_sink: Callable[[Walker], contextlib.AbstractContextManager[BinaryIO]],
    exclude: Sequence[str],
    level: int,
    mtime: int | None,
    progress: Callable[[int], None] | None,
    cache: StatCache | None,
    confirm: Callable[[], bool] | None = None,
) -> tuple[int, TreeDigest]:
    """The one way both pack: check the settings, walk and pack into the sink that
    `open_sink` gives for the walk of the build dir; `cache` learns the tree once every
    file is hashed (unless `confirm()` says the archive is not to be kept)."""
    if not 1 <= level <= MAX_LEVEL:
        raise ArtifactError(f"compression level {level} is out of range; use 1 to {MAX_LEVEL}")
    when = resolve_mtime(mtime)
    started = cache.clock() if cache is not None else 0
    walker = Walker(build_dir, exclude)
    with collection_paused(), open_sink(walker) as sink:
        counted = _Counted(sink)
        writer = cast(BinaryIO, counted)  # zstd only calls write() and flush()
        packer = _Packer(walker, writer, level, when, progress or _no_progress, cache)

        def learn(tree: TreeDigest) -> None:
            # While zstd finishes (a core to spare): the hashes are the files' own, whatever
            # becomes of the archive, but an archive not to be kept teaches nothing.
            if cache is not None and (confirm is None or confirm()):
                cache.save(walker.tree(packer.nodes), tree, started)

        tree = packer.run(learn)
    return counted.size, tree


class _Unconfirmed(Exception):
    """The archive is complete, but `pack_if`'s confirm said not to keep it."""


@contextlib.contextmanager
def _partial_file(
    out: Path, walk: Walker, confirm: Callable[[], bool] | None = None
) -> Iterator[BinaryIO]:
    """A new file beside `out`, renamed over it when the body succeeds (and `confirm`, if
    given, says so), else removed."""
    _check_out(out, walk)
    tmp = sink = None
    try:
        with held_off():  # a stop as the file is made still finds it named and open
            fd, tmp = _create_partial(out)
            sink = os.fdopen(fd, "wb", buffering=0)
        with sink:
            yield sink
        if confirm is not None and not confirm():
            raise _Unconfirmed
        with held_off():  # a stop waits for the old archive to be put back or removed
            _replace(tmp, out)
    except BaseException as exc:
        if sink is not None:
            sink.close()
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if isinstance(exc, OutputError):
            raise _cannot_write(out, exc.error) from exc.error
        if isinstance(exc, OSError):  # reading errors are ArtifactErrors already
            raise _cannot_write(out, exc) from exc
        raise


def _replace(tmp: Path, out: Path) -> None:
    """`tmp` renamed to `out`; what was there is moved aside first, and removed once the new
    file is in place (or put back, if the rename fails or is stopped). A rename over
    an existing file makes ext4 (auto_da_alloc, on by default) write the new file's data out
    before the rename returns, so that a crash cannot leave it empty: for a fresh 40 MB
    archive that doubled the rename's time (20-40 ms, a tenth of a pack). zstd -o does the
    same: it removes the old file, then writes the new one. An archive is made again by
    packing again; the moment without `out` is between two renames."""
    try:
        aside = free_name_beside(out, ".old")
    except OSError as exc:
        raise _cannot_write(out, exc) from exc
    try:
        with contextlib.suppress(FileNotFoundError):
            out.rename(aside)
        tmp.replace(out)
    except BaseException as exc:
        if os.path.lexists(aside) and not os.path.lexists(out):
            try:
                aside.rename(out)
            except OSError:
                if not isinstance(exc, OSError):
                    raise
                kept = f"{_cannot_write(out, exc)}; the file that was there is kept as {aside}"
                raise ArtifactError(kept, path=str(out)) from exc
        raise
    finally:
        if os.path.lexists(out):
            aside.unlink(missing_ok=True)


class OutputError(ArtifactError):
    """The archive could not be written where it goes (a full disk, a closed pipe): not a
    problem of the file being read when it happened."""

    def __init__(self, error: OSError) -> None:
        self.error = error
        broken = error.errno == errno.EPIPE
        reason = "what reads it stopped reading (broken pipe)" if broken else os_reason(error)
        super().__init__(f"cannot write the archive: {reason}")


class _Counted:
    """A write-only stream that counts what goes through it (a pipe cannot `tell`)."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self.size = 0

    def write(self, data: bytes) -> int:
        try:
            self._sink.write(data)
        except OSError as exc:
            raise OutputError(exc) from exc
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        try:
            self._sink.flush()
        except OSError as exc:
            raise OutputError(exc) from exc


def compression_params(level: int) -> zstandard.ZstdCompressionParameters:
    """zstd at `level`, multi-threaded, with jobs of twice the window.

    Multi-threaded always (one worker per CPU): its output does not depend on the number
    of workers, so every machine makes the same bytes. zstd's default jobs are four times
    the window; twice halves the memory zstd holds (8 MiB jobs at level 3 took peak RSS to
    about 150 MB on a 1 GB tree) for about 1 % more output on compressible trees.
    """
    window_log = zstandard.ZstdCompressionParameters.from_level(level).window_log
    return zstandard.ZstdCompressionParameters.from_level(
        level, threads=-1, job_size=2 << window_log, write_checksum=True
    )


def resolve_mtime(mtime: int | None) -> int:
    """The mtime for every member: `mtime`, else SOURCE_DATE_EPOCH, else DEFAULT_MTIME."""
    if mtime is None:
        raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
        if not raw:
            return DEFAULT_MTIME
        if not raw.isdigit():
            raise ArtifactError(
                f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds; fix or unset it"
            )
        mtime = int(raw)
    if not 0 <= mtime <= _MAX_MTIME:
        raise ArtifactError(f"mtime {mtime} is out of range; use 0 to {_MAX_MTIME}")
    return mtime


def _check_out(out: Path, walk: Walker) -> None:
    try:
        _check_out_place(out, walk)
    except OSError as exc:  # a name too long, a loop of links: the path cannot be looked at
        raise _cannot_write(out, exc) from exc


def _check_out_place(out: Path, walk: Walker) -> None:
    if out.name in ("", "..") or out.is_dir():  # "" for '.' and '/': no name to write
        raise ArtifactError(f"cannot write {out}: is a directory; pass a file name", path=str(out))
    try:
        refuse_special(out)  # a rename over a device would replace the node
    except NotRegularFile as exc:
        raise ArtifactError(
            f"cannot write {out}: {exc.reason}; pass a file name, or - for stdout", path=str(out)
        ) from None
    parent = out.parent.resolve()
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise ArtifactError(f"cannot write {out}: {out.parent} {what}", path=str(out))
    root = walk.root
    # Inside the build dir only in a directory the walk leaves out (apply's own work dir in
    # .comwit/tmp, for a `build_dir = "."`): the archive and its .partial are never read.
    inside = parent == root or root in parent.parents
    if inside and not walk.leaves_out(parent, is_dir=True):
        raise ArtifactError(
            f"cannot write {out} inside the build dir {root}; write it elsewhere",
            path=str(out),
        )


def _create_partial(out: Path) -> tuple[int, Path]:
    """A new file next to `out`, renamed over it at the end; created 0666 less the umask."""
    try:
        return create_beside(out, ".partial", 0o666)
    except OSError as exc:
        raise _cannot_write(out, exc) from exc


def _cannot_write(out: Path, exc: OSError) -> ArtifactError:
    return ArtifactError(f"cannot write {out}: {os_reason(exc)}", path=str(out))


def _no_progress(n: int) -> None:
    del n


# A stretch of the staging buffer that belongs to one file: its hash's update, start, end.
_Segment = tuple[Callable[[memoryview], None], int, int]


class _Packer:
    """Fills staging buffers with the tar stream on the calling thread; a second thread
    hashes each file's bytes from the full buffers (unless `cache` vouches for the file),
    then feeds them to zstd."""

    def __init__(
        self,
        walker: Walker,
        sink: BinaryIO,
        level: int,
        mtime: int,
        progress: Callable[[int], None],
        cache: StatCache | None = None,
        worker: Callable[[_Packer], None] | None = None,
    ) -> None:
        """`worker` is the second thread's work (`_Packer.compress` unless given)."""
        self._walker = walker
        self._cache = cache if cache is not None and len(cache) else None
        self._root = str(walker.root)
        self.nodes: list[Node] = []  # walked so far, in archive order
        self._headers = HeaderMaker(mtime)
        self._progress = progress
        compressor = zstandard.ZstdCompressor(compression_params=compression_params(level))
        # zstd's own output size (128 KiB): each chunk is copied twice more (into a bytes
        # object, then into the file), and a chunk that stays in the L2 cache made the
        # whole pack about 6 % cheaper in CPU than 1 MiB chunks did.
        self._writer = compressor.stream_writer(
            sink, write_size=zstandard.COMPRESSION_RECOMMENDED_OUTPUT_SIZE, closefd=False
        )
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        self._full: queue.SimpleQueue[tuple[bytearray, int, list[_Segment]] | None] = (
            queue.SimpleQueue()
        )
        for _ in range(_STAGES - 1):
            self._free.put(bytearray(_STAGE_SIZE))
        self._buf = bytearray(_STAGE_SIZE)
        self._view = memoryview(self._buf)
        self._pos = 0
        self._segments: list[_Segment] = []
        self._total = 0
        self._error: BaseException | None = None
        self._cancelled = False
        self._hashed = threading.Event()  # every byte handed over has been hashed
        work = worker or _Packer.compress
        self._thread = threading.Thread(target=work, args=(self,), name="comwit-pack", daemon=True)

    def run(self, finishing: Callable[[TreeDigest], None] | None = None) -> TreeDigest:
        """Pack the walk; `finishing`, when given, gets the tree as soon as every file is
        hashed, while zstd may still be compressing the last jobs."""
        thread = self._thread
        thread.start()
        try:
            hashes = self._stream()
            self._full.put(None)
            # zstd may still be finishing its last jobs: use the time
            while not self._hashed.wait(_POLL_SECONDS):
                if not thread.is_alive() and not self._hashed.is_set():
                    raise self._stopped()
            tree = make_tree_digest(
                [
                    entry_of(node, h if h is None or isinstance(h, str) else h.hexdigest())
                    for node, h in zip(self.nodes, hashes, strict=True)
                ],
                self._walker.warnings,
            )
            if finishing is not None:
                finishing(tree)
        except BaseException:
            self._cancelled = True
            self._full.put(None)
            raise
        finally:
            thread.join()
        if self._error is not None:
            raise self._error
        return tree

    def _stream(self) -> list[hashlib._Hash | str | None]:
        """Write every member as the walk finds it; return each node's hash: a hex sha256,
        or a hash object the second thread completes (None for dirs and links). The nodes
        are kept in `nodes`."""
        headers, cache, put = self._headers, self._cache, self._put
        nodes: list[Node] = self.nodes
        hashes: list[hashlib._Hash | str | None] = []
        put(headers.dir(""))
        for node in self._walker:
            nodes.append(node)
            kind = node.kind
            if kind == "file":
                put(headers.file(node.rel, node.size, executable=node.executable))
                known = cache.known(node) if cache is not None else None
                hashes.append(self._put_file(node, known))
                continue
            put(headers.dir(node.rel) if kind == "dir" else headers.symlink(node.rel, node.target))
            hashes.append(None)
        put(end_of_archive(self._total + self._pos))
        self._hand_over(last=True)
        return hashes

    def _put(self, data: bytes) -> None:
        end = self._pos + len(data)
        if end > _STAGE_SIZE:
            self._hand_over()
            end = len(data)
        self._buf[self._pos : end] = data
        self._pos = end

    def _put_file(self, node: Node, known: str | None) -> hashlib._Hash | str:
        """Read one file into the stream; return its hash: `known` (the cache's), else a
        hash object the second thread updates from the full buffers. A file the cache
        vouched for must still match the walk's lstat after reading."""
        rel, size = node.rel, node.size
        h = None if known is not None else hashlib.sha256()
        try:
            fd = os.open(self._root + "/" + rel, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise unreadable(self._root, rel, exc) from exc
        try:
            self._read(fd, rel, size, h)
            if h is None:
                st = os.fstat(fd)
                if (st.st_size, *stamps(st)) != (size, node.mtime_ns, node.ctime_ns, node.ino):
                    raise changed_while_reading(self._root, rel)
        except OSError as exc:
            raise unreadable(self._root, rel, exc) from exc
        finally:
            os.close(fd)
        if size % 512:
            self._put(_ZEROS[: -size % 512])
        return known or cast("hashlib._Hash", h)

    def _read(self, fd: int, rel: str, size: int, h: hashlib._Hash | None) -> None:
        """Read `size` bytes of `fd` into the stream, each stretch queued for `h` if given."""
        left = size
        while True:
            if self._pos == _STAGE_SIZE:
                self._hand_over()
            start = self._pos
            n, whole = read_next(fd, self._view[start:], left, self._root, rel)
            if n and h is not None:
                self._segments.append((h.update, start, start + n))
            self._pos = start + n
            if whole:
                return
            left -= n

    def _hand_over(self, *, last: bool = False) -> None:
        """Queue the filled buffer for hashing and compression; continue in a free one."""
        if self._error is not None:
            raise self._error
        self._full.put((self._buf, self._pos, self._segments))
        self._progress(self._pos)
        self._total += self._pos
        if last:
            return
        self._buf = self._free_buffer()
        self._view = memoryview(self._buf)
        self._pos = 0
        self._segments = []

    def _free_buffer(self) -> bytearray:
        """A buffer the second thread is done with, waiting only while that thread lives."""
        while True:
            try:
                return self._free.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not self._thread.is_alive():
                    raise self._stopped() from None

    def _stopped(self) -> BaseException:
        """What to raise when the second thread ended before its work did: nothing else
        would hand back a buffer or mark the bytes hashed, so waiting on would hang."""
        if self._error is not None:
            return self._error
        return ArtifactError(
            "packing stopped: its compression thread ended before the archive was complete;"
            " run the command again"
        )

    def compress(self) -> None:
        """The second thread: until the end marker, hash, feed zstd and recycle buffers.

        hashlib and zstd release the GIL on large buffers, so this overlaps the reading.
        """
        try:
            while (item := self._full.get()) is not None:
                buf, n, segments = item
                view = memoryview(buf)
                for update, start, end in segments:
                    update(view[start:end])
                if self._error is None and not self._cancelled:
                    try:
                        self._writer.write(view[:n])
                    except BaseException as exc:  # handed to the packing thread, raised there
                        self._error = exc
                self._free.put(buf)
        finally:
            self._hashed.set()
        if self._error is None and not self._cancelled:
            try:
                self._writer.flush(zstandard.FLUSH_FRAME)
            except BaseException as exc:
                self._error = exc
