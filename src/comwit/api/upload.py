"""Execute step, the upload: stream an artifact from disk with its length and progress.

The file is read in fixed chunks as the connection takes them, never whole, so memory stays
flat whatever the artifact's size. The time allowed grows with the size (see
`comwit.api.limits`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final

from comwit.errors import ArtifactError

CHUNK_SIZE: Final = 1024 * 1024

Progress = Callable[[int], None]


@contextmanager
def open_artifact(path: Path) -> Iterator[tuple[BinaryIO, int]]:
    """The open artifact and its size in bytes; closed when the block ends."""
    try:
        file = path.open("rb")
    except OSError as exc:
        raise ArtifactError(
            f"cannot read the artifact {path}: {exc.strerror or exc}; pack it again",
            path=str(path),
        ) from exc
    with file:
        yield file, os.fstat(file.fileno()).st_size


async def stream_chunks(
    file: BinaryIO, size: int, progress: Progress | None = None
) -> AsyncIterator[bytes]:
    """Exactly `size` bytes of `file` in chunks, calling `progress(bytes_sent_so_far)` as
    each chunk is taken by the connection."""
    sent = 0
    while sent < size:
        chunk = file.read(min(CHUNK_SIZE, size - sent))
        if not chunk:
            raise ArtifactError(
                f"the artifact {file.name} shrank while it was uploaded; pack it again",
                path=str(file.name),
            )
        yield chunk
        sent += len(chunk)
        if progress is not None:
            progress(sent)


def deploy_query(
    hosts: Sequence[str], env_ref: str | None, max_concurrent_requests: int | None
) -> dict[str, str]:
    """The deploy's query: options travel there, the body is the artifact alone."""
    query: dict[str, str] = {}
    if hosts:
        query["hosts"] = ",".join(hosts)
    if env_ref is not None:
        query["env_ref"] = env_ref
    if max_concurrent_requests is not None:
        query["max_concurrent_requests"] = str(max_concurrent_requests)
    return query
