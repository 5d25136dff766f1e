"""`comwit pack -o FILE` packs ahead of the manifest's validation, and keeps that archive only
when the validated app asks for the same pack: otherwise, or on an error or Ctrl-C, nothing
of it is left (no archive, no partial file, no stat cache)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from comwit.artifact.digest import digest_tree
from comwit.artifact.pack import pack as pack_tree
from comwit.artifact.stat_cache import StatCache, stat_cache_dir
from comwit.cli import main
from comwit.cli.pack_ahead import PackAhead, PackInputs
from comwit.cli.settings import Edges
from comwit.errors import ManifestError
from comwit.manifest import load_manifest
from comwit.manifest.peek import BuildDir

from tests.artifact_support import SITE, Link, unprivileged, write_tree

MANIFEST = """\
version = 1
project = "proj"

[apps.web]
build_dir = "dist"
exclude = ["*.map"]

[environments.prod.apps.web]
build_dir = "dist-prod"
"""
AHEAD = "debug: packing ahead of validation"
KEPT = "debug: kept the archive packed ahead of validation"
AFTER = "debug: packing after validation"
NOT_AHEAD = "debug: not packing ahead of validation: the raw manifest is not plain enough"


@pytest.fixture
def project(tmp_path, monkeypatch):
    write_tree(tmp_path / "dist", {**SITE, "app.js.map": "{}"})
    write_tree(tmp_path / "dist-prod", {"index.html": "<h1>prod</h1>\n"})
    (tmp_path / "comwit.toml").write_text(MANIFEST)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _pack(*args: str) -> tuple[int, str, list[str]]:
    """`comwit pack ARGS` in-process with COMWIT_DEBUG: exit code, stderr, its debug lines."""
    err = io.StringIO()
    edges = Edges({"COMWIT_DEBUG": "1"}, io.StringIO(), io.StringIO(), err)
    code = main(["pack", *args], edges=edges)
    lines = err.getvalue().splitlines()
    return code, err.getvalue(), [line for line in lines if line.startswith("debug:")]


def _left_behind(root: Path) -> list[str]:
    """Archives, partial files and stat caches under `root`."""
    found = [*root.glob("*.tar.zst"), *root.glob(".*.partial"), *root.glob(".comwit/stat/*")]
    return sorted(p.name for p in found)


def test_a_plain_manifest_is_packed_ahead_and_that_archive_kept(project, tmp_path_factory):
    code, err, debug = _pack("web", "-o", "web.tar.zst")
    assert code == 0, err
    assert debug == [AHEAD, KEPT]
    elsewhere = tmp_path_factory.mktemp("expected") / "web.tar.zst"
    expected = pack_tree(project / "dist", elsewhere, exclude=["*.map"])
    assert (project / "web.tar.zst").read_bytes() == elsewhere.read_bytes()
    cache = StatCache.open(stat_cache_dir(project), project / "dist")
    assert len(cache) == sum(1 for f in expected.tree.files if f.kind == "file")
    assert _left_behind(project) == sorted(["web.tar.zst", cache.path.name])


def test_an_env_overlay_packs_the_build_dir_it_names(project):
    code, err, debug = _pack("web", "--env", "prod", "-o", "prod.tar.zst")
    assert code == 0, err
    assert debug == [AHEAD, KEPT]
    assert f"digest: {digest_tree(project / 'dist-prod', ['*.map']).digest}" in _stdout_of(
        "web", "--env", "prod", "-o", "again.tar.zst"
    )


def test_a_template_looking_build_dir_is_left_to_validation(project):
    write_tree(project / "$dist", {"index.html": "literal\n"})
    (project / "comwit.toml").write_text('version = 1\n[apps.web]\nbuild_dir = "$dist"\n')
    code, err, debug = _pack("web", "-o", "web.tar.zst")
    assert code == 0, err
    assert debug == [NOT_AHEAD, AFTER]
    assert f"digest: {digest_tree(project / '$dist').digest}" in _stdout_of("web", "-o", "b.zst")


def test_a_pack_ahead_the_validated_app_disagrees_with_is_discarded(project):
    """What `take` does when validation resolves another build dir than the raw TOML said
    (a manifest rewritten between the two reads, say): the early pack leaves nothing."""
    peeked = BuildDir(project, project / "dist", ("*.map",))
    out = project / "web.tar.zst"
    lines: list[str] = []
    with PackAhead.start(PackInputs.of(peeked, out, 3), lines.append) as packing:
        _wait_for(lambda: list(project.glob(".*.partial")))
        validated = BuildDir(project, project / "dist-prod", ())
        assert packing.take(PackInputs.of(validated, out, 3)) is None
        assert _left_behind(project) == []
    assert lines[-1] == "discarded the archive packed ahead: the validated app differs"
    assert _left_behind(project) == []


def test_another_level_or_source_date_epoch_is_another_pack(project, monkeypatch):
    peeked = BuildDir(project, project / "dist", ("*.map",))
    out = project / "web.tar.zst"
    ahead = PackInputs.of(peeked, out, 3)
    assert PackInputs.of(peeked, out, 4) != ahead
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert PackInputs.of(peeked, out, 3) != ahead
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    assert PackInputs.of(peeked, out, 3).mtime is None


def test_an_invalid_manifest_leaves_nothing_and_says_what_it_always_said(project):
    (project / "comwit.toml").write_text(MANIFEST + '\n[apps.web.env]\n"bad key" = "x"\n')
    code, err, debug = _pack("web", "-o", "web.tar.zst")
    assert code == 1
    assert debug == [AHEAD]
    with pytest.raises(ManifestError) as problem:
        load_manifest(project / "comwit.toml")
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: {line}" for line in str(problem.value).splitlines()
    ]
    assert _left_behind(project) == []


def test_an_unknown_app_in_the_validated_manifest_leaves_nothing(project):
    code, err, debug = _pack("api", "-o", "api.tar.zst")
    assert code == 1
    assert debug == [NOT_AHEAD]
    assert "error: comwit.toml has no app 'api' (apps: web)" in err
    assert _left_behind(project) == []


def test_a_file_unreadable_while_packing_ahead_is_the_error_a_pack_reports(project):
    private = write_tree(project / "dist", {"zz/private.txt": "x" * 100_000}) / "zz/private.txt"
    private.chmod(0)
    with unprivileged(project):
        code, err, debug = _pack("web", "-o", "web.tar.zst")
    assert code == 1
    assert debug == [AHEAD]  # reported from the pack ahead, not packed a second time
    assert f"error: cannot read zz/private.txt in {project / 'dist'}" in err
    assert _left_behind(project) == []


def test_an_unsafe_symlink_found_while_packing_ahead_is_the_error_a_pack_reports(project):
    write_tree(project / "dist", {"up": Link("../comwit.toml")})
    code, err, debug = _pack("web", "-o", "web.tar.zst")
    assert code == 1
    assert debug == [AHEAD]
    assert "error: symlink up in " in err
    assert _left_behind(project) == []


@pytest.mark.timeout(60)
def test_a_pack_ahead_whose_thread_ends_without_an_answer_is_not_waited_for(project, monkeypatch):
    monkeypatch.setattr(PackAhead, "_pack", lambda self, inputs: None)  # ends at once, silent
    code, err, debug = _pack("web", "-o", "web.tar.zst")
    assert code == 0, err
    assert debug == [AHEAD, AFTER]  # packed again, after validation
    assert f"digest: {digest_tree(project / 'dist', ['*.map']).digest}" in _stdout_of(
        "web", "-o", "web.tar.zst"
    )


def test_stdout_is_never_packed_ahead(project):
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    err = io.StringIO()
    edges = Edges({"COMWIT_DEBUG": "1"}, io.StringIO(), out, err)
    assert main(["pack", "web", "-o", "-"], edges=edges) == 0
    assert "debug:" not in err.getvalue()
    assert raw.getvalue().startswith(b"\x28\xb5\x2f\xfd")  # a zstd frame


def test_ctrl_c_while_the_manifest_is_validated_leaves_nothing(project, monkeypatch):
    from comwit.manifest import load as loading

    def interrupted(document, source):  # Ctrl-C lands while the pack ahead has begun
        _wait_for(lambda: list(project.glob(".*.partial")))
        raise KeyboardInterrupt

    monkeypatch.setattr(loading, "_validate", interrupted)
    code, err, debug = _pack("web", "-o", "web.tar.zst")
    assert code == 130
    assert "error: interrupted" in err
    assert debug == [AHEAD]
    assert _left_behind(project) == []


def _stdout_of(*args: str) -> str:
    out = io.StringIO()
    assert main(["pack", *args], edges=Edges(dict(os.environ), io.StringIO(), out, out)) == 0
    return out.getvalue()


def _wait_for(found, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not found():
        assert time.monotonic() < deadline, "the pack ahead did not start"
        time.sleep(0.005)
