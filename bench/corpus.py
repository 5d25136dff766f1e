"""Seeded build directories for benchmarks: the same seed always writes the same tree.

Four sizes: `small` (about 200 files / 5 MB of web assets), `medium` (about 5,000 files /
100 MB shaped like node_modules), `large` (about 20,000 files / 1 GB, mostly
incompressible media) and `many` (100,000 small files / 200 MB shaped like node_modules).
Text files are pseudo-JavaScript that compresses about like the real thing; binary files
are seeded random bytes that do not compress at all.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MB = 1_000_000
_CHUNK = 1 << 16

_SYLLABLES = (  # noqa: SIM905
    "ab ac ad al an ar as at ba be bo ca ce co da de di do el en er es fa fi fo ga ge go "
    "ha he hi in is ja jo ka ke ko la le li lo lu ma me mi mo mu na ne no nu ob om on or "
    "pa pe pi po ra re ri ro ru sa se si so su ta te ti to tu ul un ur va ve vi vo xa ze zo"
).split()
_TOKENS = (  # noqa: SIM905
    "function return const let var this => { } ( ) ; , . = === !== && || ? : [ ] "
    "module.exports require('./ 'use strict' if else for while null undefined true false "
    "Object.keys prototype length typeof new throw Error Promise async await export import "
    "from default class extends super"
).split()


@dataclass(frozen=True)
class CorpusSpec:
    """What to generate: how many files, how many bytes, and which share of bytes is text."""

    name: str
    files: int
    total_bytes: int
    text_share: float
    layout: str  # "web", "node" or "media"


@dataclass(frozen=True)
class Corpus:
    path: Path
    files: int
    total_bytes: int


SPECS = {
    "small": CorpusSpec("small", files=200, total_bytes=5 * MB, text_share=0.6, layout="web"),
    "medium": CorpusSpec(
        "medium", files=5_000, total_bytes=100 * MB, text_share=0.85, layout="node"
    ),
    "large": CorpusSpec(
        "large", files=20_000, total_bytes=1000 * MB, text_share=0.1, layout="media"
    ),
    "many": CorpusSpec("many", files=100_000, total_bytes=200 * MB, text_share=0.85, layout="node"),
}


def make_corpus(name: str, dest: Path, *, seed: int = 0) -> Corpus:
    """Write the corpus `name` (a key of SPECS) into the new directory `dest`."""
    spec = SPECS[name]
    rng = random.Random(f"comwit-bench:{name}:{seed}")
    dest.mkdir(parents=True)
    pool = _text_pool(rng, 8 << 20)
    paths = _paths(rng, spec)
    sizes = _sizes(rng, spec, paths)
    total = 0
    for rel, size in zip(paths, sizes, strict=True):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as fh:
            if _is_text(rel):
                _write_text(fh, rng, pool, size)
            else:
                _write_random(fh, rng, size)
        if rel.endswith((".sh", "/cli.js")):
            target.chmod(0o755)
        total += size
    links = _add_symlinks(dest, paths) if spec.layout == "node" else 0
    return Corpus(path=dest, files=len(paths) + links, total_bytes=total)


def make_site_repo(name: str, root: Path, project: str) -> Corpus:
    """A repository `root` whose comwit.toml deploys the corpus `name`, written into
    `root/site`, as the app `site` of `project`; returned once its files are old enough."""
    corpus = make_corpus(name, root / "site")
    (root / "comwit.toml").write_text(
        f'version = 1\nproject = "{project}"\n[apps.site]\nbuild_dir = "site"\n'
    )
    time.sleep(2.5)  # files written within 2 s of a hash are racy: hashed again
    return corpus


def make_small(dest: Path, *, seed: int = 0) -> Corpus:
    return make_corpus("small", dest, seed=seed)


def make_medium(dest: Path, *, seed: int = 0) -> Corpus:
    return make_corpus("medium", dest, seed=seed)


def make_large(dest: Path, *, seed: int = 0) -> Corpus:
    return make_corpus("large", dest, seed=seed)


# -- layout -----------------------------------------------------------------------------


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts))


def _paths(rng: random.Random, spec: CorpusSpec) -> list[str]:
    make = {"web": _web_path, "node": _node_path, "media": _media_path}[spec.layout]
    files: set[str] = set()
    parents: set[str] = set()
    paths: list[str] = []
    dirs = [_word(rng, rng.randint(2, 4)) for _ in range(max(4, spec.files // 25))]
    while len(paths) < spec.files:
        path = make(rng, dirs)
        above = {path.rsplit("/", n)[0] for n in range(1, path.count("/") + 1)}
        if path in files or path in parents or above & files:
            continue
        files.add(path)
        parents |= above
        paths.append(path)
    return paths


def _web_path(rng: random.Random, dirs: list[str]) -> str:
    kind = rng.choices(("js", "css", "html", "img", "font"), (40, 15, 10, 30, 5))[0]
    name = _word(rng, rng.randint(2, 4))
    if kind == "js":
        return f"assets/js/{rng.choice(dirs)}/{name}.{rng.getrandbits(32):08x}.js"
    if kind == "css":
        return f"assets/css/{name}.{rng.getrandbits(32):08x}.css"
    if kind == "html":
        return f"{rng.choice(dirs)}/{name}/index.html"
    if kind == "img":
        return f"assets/img/{rng.choice(dirs)}/{name}.{rng.choice(('png', 'webp', 'jpg'))}"
    return f"assets/fonts/{name}.woff2"


def _node_path(rng: random.Random, dirs: list[str]) -> str:
    # About six files per directory, as in real node_modules trees.
    parts = ["node_modules"]
    index = rng.randrange(len(dirs) // 2)
    pkg = dirs[index]
    if index % 5 == 0:
        parts.append(f"@{dirs[-index - 1][:5]}")
    parts.append(pkg)
    if index % 4 == 0 and rng.random() < 0.3:
        parts += ["node_modules", dirs[len(dirs) // 2 + rng.randrange(len(dirs) // 2)]]
    leaf = rng.choices(
        ("package.json", "README.md", "LICENSE", "index.js", "lib", "dist", "bin", "native"),
        (6, 4, 3, 6, 50, 25, 2, 2),
    )[0]
    name = _word(rng, rng.randint(2, 5))
    if rng.random() < 0.05:  # some names are long enough to need a PAX header
        name = "-".join(_word(rng, 3) for _ in range(rng.randint(8, 16)))
    if leaf == "lib":
        sub = rng.choice(("lib", "lib/utils", "lib/internal", "src", "esm", "cjs"))
        return "/".join([*parts, sub, f"{name}.js"])
    if leaf == "dist":
        return "/".join([*parts, "dist", f"{name}.{rng.choice(('min.js', 'js.map', 'mjs'))}"])
    if leaf == "bin":
        return "/".join([*parts, "bin", "cli.js"])
    if leaf == "native":
        return "/".join([*parts, "build", "Release", f"{name}.node"])
    return "/".join([*parts, leaf])


def _media_path(rng: random.Random, dirs: list[str]) -> str:
    kind = rng.choices(("img", "video", "data", "text"), (60, 3, 17, 20))[0]
    name = _word(rng, rng.randint(2, 4))
    top = rng.choice(dirs[:40])
    if kind == "img":
        return f"media/{top}/{rng.choice(dirs[:8])}/{name}.{rng.choice(('jpg', 'png', 'webp'))}"
    if kind == "video":
        return f"media/video/{name}.mp4"
    if kind == "data":
        return f"data/{top}/{name}.bin"
    return f"pages/{top}/{name}.{rng.choice(('html', 'js', 'css', 'json'))}"


def _is_text(path: str) -> bool:
    return path.endswith((".js", ".mjs", ".map", ".css", ".html", ".json", ".md", "LICENSE"))


def _sizes(rng: random.Random, spec: CorpusSpec, paths: list[str]) -> list[int]:
    # Heavy-tailed like real trees: most files small, a few large ones carry much of the bytes.
    raw = [rng.lognormvariate(0, 1.6) * (40 if p.endswith(".mp4") else 1) for p in paths]
    text = sum(r for r, p in zip(raw, paths, strict=True) if _is_text(p)) or 1.0
    binary = sum(r for r, p in zip(raw, paths, strict=True) if not _is_text(p)) or 1.0
    text_scale = spec.total_bytes * spec.text_share / text
    binary_scale = spec.total_bytes * (1 - spec.text_share) / binary
    return [
        max(1, int(r * (text_scale if _is_text(p) else binary_scale)))
        for r, p in zip(raw, paths, strict=True)
    ]


def _add_symlinks(dest: Path, paths: list[str]) -> int:
    """node_modules/.bin holds relative links to each package's CLI, like npm makes."""
    bin_dir = dest / "node_modules" / ".bin"
    bin_dir.mkdir(exist_ok=True)
    count = 0
    for path in paths:
        if path.endswith("/bin/cli.js") and path.count("node_modules") == 1:
            pkg = path.split("/")[-3]
            link = bin_dir / pkg
            if not os.path.lexists(link):
                link.symlink_to(f"../{path.removeprefix('node_modules/')}")
                count += 1
    return count


# -- content ----------------------------------------------------------------------------


def _text_pool(rng: random.Random, size: int) -> bytes:
    words = rng.choices(_TOKENS, k=size // 5)
    for i in range(0, len(words), 5):
        words[i] = f"{_word(rng, 2)}{rng.getrandbits(12)}"
    return " ".join(words).encode()[:size]


def _write_text(fh: BinaryIO, rng: random.Random, pool: bytes, size: int) -> None:
    write = fh.write
    left = size
    while left > 0:
        n = min(left, rng.randint(512, 8192))
        start = rng.randrange(len(pool) - n)
        write(pool[start : start + n])
        left -= n


def _write_random(fh: BinaryIO, rng: random.Random, size: int) -> None:
    write = fh.write
    left = size
    while left > 0:
        n = min(left, _CHUNK)
        write(rng.randbytes(n))
        left -= n
