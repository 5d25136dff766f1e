"""Packing, the tar layer: reproducible member headers, built directly for speed.

POSIX ustar headers; a PAX extended header (typeflag `x`) is added only when a name or
link target is not ASCII or does not fit the ustar fields. Every header has the same
mtime, uid/gid 0, empty user and group names, and a normalized mode. See docs/artifacts.md.
"""

from __future__ import annotations

import struct

BLOCK = 512
RECORD = 20 * BLOCK  # archives end on a record boundary, as GNU tar and tarfile write them

FILE_MODE = 0o644
EXEC_MODE = 0o755
DIR_MODE = 0o755
LINK_MODE = 0o777  # what Linux reports for every symlink, and what GNU tar stores

# name, mode+uid+gid, size, mtime, checksum, typeflag, linkname, magic to devminor, prefix,
# then zeros to the block's end; each bytes field is padded with NULs, as ustar's are.
_LAYOUT = struct.Struct("100s24s12s12s8s1s100s88s155s12x")
_PAX_NAME = b"././@PaxHeader"
_NAME_LEN, _PREFIX_LEN, _LINK_LEN = 100, 155, 100


class HeaderMaker:
    """Builds the header blocks of each member for one fixed mtime."""

    def __init__(self, mtime: int) -> None:
        self._templates = {
            (kind, mode): _template(kind, mode, mtime)
            for kind, mode in (
                (b"0", FILE_MODE),
                (b"0", EXEC_MODE),
                (b"5", DIR_MODE),
                (b"2", LINK_MODE),
                (b"x", FILE_MODE),
            )
        }

    def file(self, rel: str, size: int, *, executable: bool) -> bytes:
        mode = EXEC_MODE if executable else FILE_MODE
        name = ("./" + rel).encode()
        if len(name) <= _NAME_LEN and name.isascii():  # most names: one plain ustar header
            return self._header(b"0", mode, name, b"", size, b"")
        return self._member(b"0", mode, name, size, b"")

    def dir(self, rel: str) -> bytes:
        name = ("./" + rel + "/").encode() if rel else b"./"
        return self._member(b"5", DIR_MODE, name, 0, b"")

    def symlink(self, rel: str, target: str) -> bytes:
        return self._member(b"2", LINK_MODE, ("./" + rel).encode(), 0, target.encode())

    def _member(self, kind: bytes, mode: int, name: bytes, size: int, link: bytes) -> bytes:
        records = b""
        split = _split_name(name) if name.isascii() else None
        if split is None:
            records += pax_record(b"path", name)
            split = (b"", _fallback(name))
        if len(link) > _LINK_LEN or not link.isascii():
            records += pax_record(b"linkpath", link)
            link = _fallback(link)
        header = self._header(kind, mode, split[1], split[0], size, link)
        if not records:
            return header
        pax = self._header(b"x", FILE_MODE, _PAX_NAME, b"", len(records), b"")
        return pax + records + padding(len(records)) + header

    def _header(
        self, kind: bytes, mode: int, name: bytes, prefix: bytes, size: int, link: bytes
    ) -> bytes:
        ids, mtime, magic, fixed_sum = self._templates[kind, mode]
        size_field = b"%011o\0" % size
        checksum = fixed_sum + sum(name + size_field + link + prefix)
        checksum_field = b"%06o\0 " % checksum
        return _LAYOUT.pack(name, ids, size_field, mtime, checksum_field, kind, link, magic, prefix)


def pax_record(key: bytes, value: bytes) -> bytes:
    """One `<length> <key>=<value>\\n` record; the length counts its own digits."""
    body = b" %s=%s\n" % (key, value)
    length = len(body) + 1
    while length != len(body) + len(str(length)):
        length = len(body) + len(str(length))
    return b"%d%s" % (length, body)


def padding(size: int) -> bytes:
    """The zero bytes that bring a member of `size` bytes to a block boundary."""
    return bytes(-size % BLOCK)


def end_of_archive(size: int) -> bytes:
    """Two zero blocks, then zeros up to a record boundary; `size` is the bytes so far."""
    return bytes(2 * BLOCK + (-(size + 2 * BLOCK) % RECORD))


def _template(kind: bytes, mode: int, mtime: int) -> tuple[bytes, bytes, bytes, int]:
    """The fixed fields of a header, as `_LAYOUT` takes them: mode, uid and gid; mtime; magic
    to devminor; and the checksum of a header holding only them, `kind` and a blank checksum
    field (8 spaces)."""
    ids = b"%07o\0" % mode + b"0000000\0" + b"0000000\0"  # mode, uid, gid
    mtime_field = b"%011o\0" % mtime
    magic = b"ustar\x0000".ljust(72, b"\0") + b"0000000\0" + b"0000000\0"  # to devminor
    fixed_sum = sum(ids) + sum(mtime_field) + sum(magic) + sum(b" " * 8) + sum(kind)
    return ids, mtime_field, magic, fixed_sum


def _split_name(name: bytes) -> tuple[bytes, bytes] | None:
    """(prefix, name) fitting the ustar fields, split at a "/", or None when it cannot fit."""
    if len(name) <= _NAME_LEN:
        return b"", name
    cut = name.rfind(b"/", 0, min(_PREFIX_LEN + 1, len(name) - 1))
    if cut <= 0 or len(name) - cut - 1 > _NAME_LEN:
        return None
    return name[:cut], name[cut + 1 :]


def _fallback(text: bytes) -> bytes:
    """The ustar field for a value carried by a PAX record: ASCII, truncated, deterministic."""
    return bytes(b if 32 <= b < 127 else 0x5F for b in text[:_NAME_LEN])
