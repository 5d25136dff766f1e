"""Uploaded artifacts: stream the body to disk under a size limit, then check it is a safe tar.zst.

Nothing is held in memory: the body goes to a temporary file chunk by chunk, and the check
streams that file through zstd and `tarfile` in stream mode, looking at every member name.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path, PurePosixPath

import zstandard

from comwit.api import assumed
from comwit.emulator.problems import ApiProblem, bad_request
from comwit.escape import quoted

OCTET_STREAM = "application/octet-stream"


def check_upload_headers(headers: Mapping[str, str], limit: int) -> None:
    """Refuse an upload from its headers alone: wrong type, no length, or declared too large."""
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != OCTET_STREAM:
        raise bad_request(
            f"Send the artifact with Content-Type: {OCTET_STREAM}.", "invalid_media_type"
        )
    length = headers.get("content-length")
    if length is None:
        if assumed.UPLOAD_NEEDS_CONTENT_LENGTH:
            raise bad_request("Send the artifact with a Content-Length.", "length_required")
        return
    if not length.isdigit():
        raise bad_request("The Content-Length header is not a number.")
    if int(length) > limit:
        raise too_large(limit)


def too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        assumed.STATUS_ARTIFACT_TOO_LARGE,
        f"The artifact is larger than the limit of {limit} bytes.",
        "artifact_too_large",
    )


async def receive_upload(chunks: AsyncIterator[bytes], directory: Path, limit: int) -> Path:
    """Write the body to a new file in `directory`; refuse (and remove it) past `limit` bytes."""
    fd, name = tempfile.mkstemp(dir=directory, suffix=".part")
    path = Path(name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def validate_artifact(path: Path) -> int:
    """Check `path` is zstd-compressed tar with only relative, `..`-free members; count them."""
    count = 0
    try:
        with (
            path.open("rb") as raw,
            zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True) as stream,
            tarfile.open(fileobj=stream, mode="r|") as archive,
        ):
            for member in archive:
                _check_member(member)
                count += 1
    except (zstandard.ZstdError, tarfile.TarError, EOFError) as exc:
        raise bad_request(
            "The body is not a zstd-compressed tar archive (pack it with `tar --zstd -cf`).",
            "invalid_artifact",
        ) from exc
    return count


def _check_member(member: tarfile.TarInfo) -> None:
    names = [member.name, member.linkname] if member.islnk() else [member.name]
    for name in names:
        if name.startswith("/") or ".." in PurePosixPath(name).parts:
            raise bad_request(
                f"The archive member {quoted(name)} is not a relative path inside the archive.",
                "unsafe_artifact_member",
            )
