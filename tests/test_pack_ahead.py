"""`comwit pack`'s head start: the pack runs on the raw TOML's word while a forked child
validates the manifest; only an archive the validated manifest agrees with is kept."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from comwit.artifact.pack import pack
from comwit.artifact.stat_cache import stat_cache_dir
from comwit.cli import ahead, forked, main
from comwit.manifest.load import load_manifest
from comwit.manifest.peek import BuildGuess, guess_build

from tests.artifact_support import SITE, write_tree

MANIFEST = """\
version = 1
project = "proj"

[defaults]
exclude = ["*.map"]

[apps.web]
build_dir = "dist"

[apps.api]
build_dir = "."
exclude = ["*.log"]

[apps.old]
build = "build-1"

[environments.staging.apps.web]
build_dir = "dist-staging"
"""


def _write(tmp_path: Path, text: str = MANIFEST) -> Path:
    path = tmp_path / "comwit.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("app", "env"), [("web", None), ("api", None), ("web", "staging"), ("api", "staging")]
)
def test_the_guess_is_what_the_validated_manifest_says(tmp_path, app, env):
    path = _write(tmp_path)
    guess = guess_build(path, app, env)
    config = load_manifest(path, env=env).apps[app]
    assert config.build_dir is not None
    assert guess == BuildGuess(tmp_path.resolve(), config.build_dir, config.exclude)


def test_the_guess_has_the_defaults_the_env_overlay_and_comwits_own_directory(tmp_path):
    path = _write(tmp_path)
    root = tmp_path.resolve()
    assert guess_build(path, "web", None) == BuildGuess(root, root / "dist", ("*.map",))
    assert guess_build(path, "web", "staging") == BuildGuess(
        root, root / "dist-staging", ("*.map",)
    )
    assert guess_build(path, "api", None) == BuildGuess(root, root, ("*.log", "/.comwit/"))


@pytest.mark.parametrize(
    ("text", "app", "env"),
    [
        (MANIFEST, "old", None),  # pins a build: nothing to pack
        (MANIFEST, "nope", None),
        (MANIFEST, "web", "production"),  # no such environment
        (MANIFEST.replace('"dist"', "5"), "web", None),
        (MANIFEST.replace('"dist"', '""'), "web", None),
        (MANIFEST.replace('["*.map"]', '"*.map"'), "web", None),
        (MANIFEST.replace('["*.map"]', "[1]"), "web", None),
        ("version = 1\n[apps.web\n", "web", None),  # not TOML
        ("x = " + "[" * 100_000, "web", None),  # deeper than tomllib can parse
        ("apps = 1", "web", None),
    ],
)
def test_anything_unexpected_is_no_guess(tmp_path, text, app, env):
    assert guess_build(_write(tmp_path, text), app, env) is None


def test_an_unreadable_or_not_utf8_manifest_is_no_guess(tmp_path):
    assert guess_build(tmp_path / "missing.toml", "web", None) is None
    path = tmp_path / "comwit.toml"
    path.write_bytes(b'version = 1\n[apps.web]\nbuild_dir = "\xff"\n')
    assert guess_build(path, "web", None) is None


def test_a_pack_that_cannot_fork_packs_as_before(project, monkeypatch, capsys):
    monkeypatch.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError(11, "no")))
    assert main(["pack", "web", "-o", "web.tar.zst"]) == 0
    _assert_packed_as_pack_does(project, "web.tar.zst", capsys.readouterr().out)


@pytest.fixture
def project(tmp_path, monkeypatch):
    write_tree(tmp_path / "dist", {**SITE, "app.js.map": "{}"})
    write_tree(tmp_path / "other", {"index.html": "the other tree"})
    _write(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _assert_packed_as_pack_does(project: Path, out: str, stdout: str) -> None:
    """`out` holds the bytes `pack` makes of the validated app's tree, and stdout its digest."""
    reference = pack(project / "dist", project / "ref.tar.zst", exclude=["*.map"])
    assert (project / out).read_bytes() == reference.path.read_bytes()
    assert f"digest: {reference.tree.digest}" in stdout


def _forks(monkeypatch) -> list[forked.Forked | None]:
    """Every child the command starts (None where it did not fork)."""
    started: list[forked.Forked | None] = []
    real = forked.Forked.start.__func__  # type: ignore[attr-defined]

    def start(cls, work):
        child = real(cls, work)
        started.append(child)
        return child

    monkeypatch.setattr(forked.Forked, "start", classmethod(start))
    return started


def test_the_archive_packed_ahead_is_the_one_pack_makes(project, monkeypatch, capsys):
    forks = _forks(monkeypatch)
    assert main(["pack", "web", "-o", "ahead.tar.zst"]) == 0
    assert len(forks) == 1 and forks[0] is not None
    _assert_packed_as_pack_does(project, "ahead.tar.zst", capsys.readouterr().out)
    assert list(stat_cache_dir(project).iterdir())  # the cache learned the tree
    assert not [p for p in project.iterdir() if p.name.endswith(".partial")]


def test_a_wrong_guess_is_dropped_and_the_validated_build_dir_packed(project, monkeypatch, capsys):
    wrong = BuildGuess(project.resolve(), project.resolve() / "other", ())
    monkeypatch.setattr("comwit.manifest.peek.guess_build", lambda path, app, env: wrong)
    forks = _forks(monkeypatch)
    assert main(["pack", "web", "-o", "web.tar.zst"]) == 0
    assert len(forks) == 1 and forks[0] is not None
    _assert_packed_as_pack_does(project, "web.tar.zst", capsys.readouterr().out)


def test_an_invalid_manifest_fails_as_before_and_leaves_the_output_alone(
    project, monkeypatch, capsys
):
    _write(project, MANIFEST + "\n[apps.web.runtime]\nsurprise = 1\n")  # valid TOML, bad schema
    (project / "web.tar.zst").write_bytes(b"yesterday's archive")
    forks = _forks(monkeypatch)
    assert main(["pack", "web", "-o", "web.tar.zst"]) == 1
    assert len(forks) == 1 and forks[0] is not None  # it packed ahead, then dropped it
    err = capsys.readouterr().err
    assert "comwit.toml" in err and "runtime" in err
    assert (project / "web.tar.zst").read_bytes() == b"yesterday's archive"
    assert not (project / ".comwit").exists()  # no stat cache learned from a refused manifest
    assert not [p for p in project.iterdir() if p.name.endswith(".partial")]


def test_a_pack_error_the_manifest_agrees_with_is_the_packs_own(project, monkeypatch, capsys):
    _write(project, MANIFEST.replace('"dist"', '"missing"'))
    forks = _forks(monkeypatch)
    assert main(["pack", "web", "-o", "web.tar.zst"]) == 1
    assert len(forks) == 1 and forks[0] is not None
    err = capsys.readouterr().err
    assert "build dir" in err and "missing" in err and "does not exist" in err
    assert not (project / "web.tar.zst").exists()


def test_a_pack_error_in_an_invalid_manifest_reports_the_manifest(project, capsys):
    _write(project, MANIFEST.replace('"dist"', '"missing"') + "\n[apps.web.runtime]\nx = 1\n")
    assert main(["pack", "web", "-o", "web.tar.zst"]) == 1
    err = capsys.readouterr().err
    assert "runtime" in err
    assert "does not exist" not in err


def test_the_comwit_script_packs_ahead_and_reports_as_before(project):
    result = subprocess.run(
        [sys.executable, "-m", "comwit", "pack", "web", "-o", "web.tar.zst"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 0, result.stderr
    _assert_packed_as_pack_does(project, "web.tar.zst", result.stdout)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["web"], ("web", "web.tar.zst", None, None, 3)),
        (["web", "-o", "out.tar.zst"], ("web", "out.tar.zst", None, None, 3)),
        (["--out=x/y.tar.zst", "web"], ("web", "x/y.tar.zst", None, None, 3)),
        (
            ["-f", "c.toml", "web", "--env", "staging", "--level", "19"],
            ("web", "web.tar.zst", "c.toml", "staging", 19),
        ),
        (
            ["--file=c.toml", "-e", "s", "--level=1", "api"],
            ("api", "api.tar.zst", "c.toml", "s", 1),
        ),
        (["web", "-o", "-"], ("web", "-", None, None, 3)),  # the archive to stdout
        (["web", "--out=./-"], ("web", "-", None, None, 3)),  # the same, to the command
    ],
)
def test_plain_pack_arguments_are_read_before_typer(args, expected):
    given = ahead.read_pack_args(args)
    assert given is not None
    app, out, manifest, env, level = expected
    assert given.app == app and given.out == Path(out) and given.env == env
    assert given.manifest == (None if manifest is None else Path(manifest))
    assert given.level == level


@pytest.mark.parametrize(
    "args",
    [
        [],  # no APP: typer says it is missing
        ["web", "api"],
        ["web", "-o"],
        ["web", "-o", ""],
        ["web", "-o", "a", "-o", "b"],  # typer keeps the last: left to it
        ["web", "-oa.tar.zst"],
        ["web", "-o=a.tar.zst"],
        ["web", "--out="],
        ["web", "--help"],
        ["-h"],
        ["--", "web"],
        ["web", "--level", "0"],
        ["web", "--level", "20"],
        ["web", "--level", "3.0"],
        ["web", "--level", "٣"],  # a digit, not an ASCII one
        ["web", "--verbose"],
        ["web", "--frobnicate=1"],
        ["-web"],
        [""],
        [" "],
        ["web", "-e", " "],  # typer refuses a blank --env
        ["web", "--env=\t"],
    ],
)
def test_anything_but_plain_pack_arguments_is_left_to_typer(args):
    assert ahead.read_pack_args(args) is None


@pytest.mark.parametrize(
    "args",
    [
        ["pack", "web"],
        ["pack", "--out=./nested/../early.tar.zst", "web"],
        ["pack", "-f", "comwit.toml", "web", "--level", "9"],
        ["pack", "-e", "staging", "web", "-o", "staged.tar.zst"],
        ["pack", "--file=comwit.toml", "api", "--level=1", "-o", "api.tar.zst"],
        ["pack", "old"],  # pins a build: no guess, typer's path says why
        ["pack", "nosuch", "-o", "x.tar.zst"],
        ["pack", "-e", "nosuch", "web"],
        ["pack", "web", "-o", "missing/web.tar.zst"],  # an error of the pack's own
        ["pack", "web", "-o", "nested"],  # a directory
        ["pack", "web", "-o", "comwit.toml"],  # the manifest: refused after its own errors
        ["pack", "web", "-e", " "],
    ],
)
def test_the_early_pack_says_and_writes_what_the_command_does(project, monkeypatch, args):
    """Each run's exit code, stdout, stderr and archive, packed early and through typer alone
    (os.fork failing: no head start, so the command runs as it always did)."""
    (project / "nested").mkdir()
    (project / "dist-staging").mkdir()
    (project / "dist-staging" / "index.html").write_text("staged")
    forks = _forks(monkeypatch)
    early = _run_main(project, args)
    early_forks = len(forks)
    with monkeypatch.context() as patched:
        patched.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError(11, "no")))
        plain = _run_main(project, args)
    assert early == plain
    if early[0] == 0 and args[1] != "old":
        assert early_forks == 1 and forks[0] is not None  # this one was packed early


@pytest.mark.parametrize("case", ["outside", "nul"])
def test_a_build_dir_validate_refuses_is_refused_by_pack_on_both_paths(
    project, tmp_path_factory, monkeypatch, case
):
    """Pack packed a build dir outside the repository that validate and plan refuse, and a
    build_dir holding a NUL said "comwit hit a bug (ValueError)"."""
    if case == "outside":
        elsewhere = write_tree(tmp_path_factory.mktemp("elsewhere"), {"secret.txt": "s"})
        (project / "dist").rename(project / "dist.built")
        (project / "dist").symlink_to(elsewhere)
        said = (
            f"error: comwit.toml:8:1: apps.web.build_dir: build directory {project}/dist (it"
            f" resolves to {elsewhere}) is outside the repository {project}, and a change to"
            " this line could then publish any directory of this machine; build into the"
            " repository, or set allow_outside_repo = true for this app\n"
        )
    else:
        _write(project, MANIFEST.replace('build_dir = "dist"', 'build_dir = "dist\\u0000"'))
        said = (
            f"error: comwit.toml:8:1: apps.web.build_dir: build directory {project}/dist\\u0000"
            " does not exist; build the app first\n"
        )
    args = ["pack", "web", "-o", "web.tar.zst"]
    forks = _forks(monkeypatch)
    early = _run_main(project, args)
    assert len(forks) == 1  # read early (a NUL: no guess, so the command says it)
    with monkeypatch.context() as patched:
        patched.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError(11, "no")))
        plain = _run_main(project, args)
    assert early == plain == (1, "", said, {})


def _run_main(project: Path, args: list[str]) -> tuple[int, str, str, dict[str, bytes]]:
    import io

    from comwit.cli.settings import Edges

    for made in project.glob("**/*.tar.zst"):
        made.unlink()
    out, err = io.StringIO(), io.StringIO()
    environ = {"NO_COLOR": "1", "HOME": str(project)}
    code = main(args, edges=Edges(environ, io.StringIO(), out, err))
    archives = {str(p.relative_to(project)): p.read_bytes() for p in project.glob("**/*.tar.zst")}
    return code, out.getvalue(), err.getvalue(), archives


def _slow_tree(root: Path) -> None:
    """A tree zstd's level 19 takes seconds to pack: 12 MB of text that is not too simple."""
    import random

    words = [f"word{n}" for n in range(5000)]
    rng = random.Random(7)
    for i in range(4):
        text = " ".join(rng.choice(words) for _ in range(500_000))
        write_tree(root, {f"part{i}.txt": text[: 3 * 1024 * 1024]})


@pytest.mark.parametrize(
    ("where", "glued", "said"),
    [
        ("here", False, ""),  # packed early
        ("above", False, "Using the manifest ../comwit.toml.\n"),  # early, the manifest named
        ("above", True, "Using the manifest ../comwit.toml.\n"),  # -oFILE: through typer
    ],
)
def test_sigterm_during_a_pack_leaves_the_old_archive_and_no_partial_file(
    tmp_path, where, glued, said
):
    _slow_tree(tmp_path / "dist")
    _write(tmp_path)
    (tmp_path / "web.tar.zst").write_bytes(b"yesterday's archive")
    cwd = tmp_path if where == "here" else tmp_path / "dist"
    out = tmp_path / "web.tar.zst"
    output = [f"-o{out}"] if glued else ["-o", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "comwit", "pack", "web", "--level", "19", *output],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob(".web.tar.zst.*.partial")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the pack never started"
            time.sleep(0.01)
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == 143, err
    assert err == said + "error: terminated\n"
    assert out.read_bytes() == b"yesterday's archive"
    assert not list(tmp_path.glob(".*.partial"))
    assert not (tmp_path / ".comwit").exists()  # nothing learned from a pack that did not end


def test_an_output_this_user_cannot_read_is_refused_as_typer_refuses_it(
    project, monkeypatch, capsys
):
    """typer checks that a path option names something readable, if anything: a plain pack
    must not replace such a file (another user's archive in a shared directory). Root reads
    anything, so the OS's answer is given here: both paths ask os.access."""
    out = project / "web.tar.zst"
    out.write_bytes(b"someone else's archive")
    real = os.access

    def access(path, mode, **kwargs):
        if Path(path).name == out.name and mode == os.R_OK:
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    forks = _forks(monkeypatch)
    assert main(["pack", "web", "-o", "web.tar.zst"]) == 1
    assert "--out: path 'web.tar.zst' is not readable" in capsys.readouterr().err
    assert out.read_bytes() == b"someone else's archive"
    assert forks == []  # refused before anything was packed


@pytest.mark.parametrize(
    "text",
    [MANIFEST, MANIFEST.replace('"dist"', '"missing"')],  # packed; a pack error of its own
    ids=["packs", "fails"],
)
def test_a_manifest_found_above_is_named_first_and_packed_early_as_the_command_does(
    project, monkeypatch, text
):
    _write(project, text)
    (project / "sub" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(project / "sub" / "deeper")
    args = ["pack", "web", "-o", str(project / "web.tar.zst")]
    forks = _forks(monkeypatch)
    early = _run_main(project, args)
    assert len(forks) == 1 and forks[0] is not None
    with monkeypatch.context() as patched:
        patched.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError(11, "no")))
        plain = _run_main(project, args)
    assert early == plain
    code, _, err, _ = early
    assert err.startswith("Using the manifest ../../comwit.toml.\n")
    assert code == (0 if text == MANIFEST else 1)


@pytest.mark.parametrize(
    "args",
    [
        ["pack", "web", "-o", "-"],
        ["pack", "web", "--out", "./-", "--level", "5"],
        ["pack", "-e", "staging", "web", "-o", "-"],
        ["pack", "old", "-o", "-"],
        ["pack", "nosuch", "-o", "-"],
        ["pack", "api", "-o", "-"],  # build_dir "." holds the manifest: packed with it
    ],
)
def test_the_early_pack_to_stdout_writes_and_says_what_the_command_does(project, monkeypatch, args):
    (project / "dist-staging").mkdir()
    (project / "dist-staging" / "index.html").write_text("staged")
    forks = _forks(monkeypatch)
    early = _run_main_to_stdout(args)
    early_forks = len(forks)
    with monkeypatch.context() as patched:
        patched.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError(11, "no")))
        plain = _run_main_to_stdout(args)
    assert early == plain
    if early[0] == 0:
        assert early_forks == 1 and forks[0] is not None  # this one was packed early
        assert early[1].startswith(b"\x28\xb5\x2f\xfd")  # a zstd frame
        assert "digest: sha256:" in early[2]


def test_a_wrong_guess_streams_nothing_of_its_own_to_stdout(project, monkeypatch):
    wrong = BuildGuess(project.resolve(), project.resolve() / "other", ())
    monkeypatch.setattr("comwit.manifest.peek.guess_build", lambda path, app, env: wrong)
    forks = _forks(monkeypatch)
    code, archive, _ = _run_main_to_stdout(["pack", "web", "-o", "-"])
    assert code == 0 and len(forks) == 1
    reference = pack(project / "dist", project / "ref.tar.zst", exclude=["*.map"])
    assert archive == reference.path.read_bytes()  # the validated tree's archive, alone


def _run_main_to_stdout(args: list[str]) -> tuple[int, bytes, str]:
    """`main(args)` with a byte stream for stdout, as a pipe is: exit code, bytes, stderr."""
    import io

    from comwit.cli.settings import Edges

    raw = io.BytesIO()
    out, err = io.TextIOWrapper(raw, encoding="utf-8"), io.StringIO()
    code = main(args, edges=Edges({"NO_COLOR": "1"}, io.StringIO(), out, err))
    out.flush()
    return code, raw.getvalue(), err.getvalue()


class _Sink:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.written.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def test_stdout_is_held_back_until_the_child_agrees_then_written_through_in_order():
    sink, answered = _Sink(), []
    held = ahead._Held(sink, lambda: bool(answered), lambda: True)
    held.write(b"one")
    held.write(b"two")
    assert sink.written == []  # no answer yet: nothing out
    answered.append(True)
    held.write(b"three")
    held.write(b"four")
    assert b"".join(sink.written) == b"onetwothreefour"


def test_a_disagreeing_child_stops_the_stream_before_anything_is_out():
    sink = _Sink()
    held = ahead._Held(sink, lambda: True, lambda: False)
    with pytest.raises(ahead._Disagreed):
        held.write(b"not this tree")
    assert sink.written == []


def test_past_the_hold_limit_the_answer_is_waited_for(monkeypatch):
    monkeypatch.setattr(ahead, "_HOLD_BYTES", 8)
    sink, asked = _Sink(), []
    held = ahead._Held(sink, lambda: False, lambda: asked.append(1) or True)
    held.write(b"12345")
    assert asked == [] and sink.written == []
    held.write(b"6789")  # 9 bytes held: wait for the answer, which agrees
    assert asked == [1] and b"".join(sink.written) == b"123456789"


def test_a_closed_pipe_on_stdout_is_said_as_the_command_says_it(project, monkeypatch):
    import io

    from comwit.cli.settings import Edges

    big = {f"big{i}.bin": os.urandom(3 << 20) for i in range(6)}
    write_tree(project / "dist", big)

    class Closed(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    def run() -> tuple[int, str]:
        out, err = io.TextIOWrapper(io.BufferedWriter(Closed())), io.StringIO()
        code = main(["pack", "web", "-o", "-"], edges=Edges({}, io.StringIO(), out, err))
        return code, err.getvalue()

    forks = _forks(monkeypatch)
    early = run()
    assert len(forks) == 1 and forks[0] is not None
    with monkeypatch.context() as patched:
        patched.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError(11, "no")))
        plain = run()
    assert early == plain
    assert early == (
        1,
        "error: cannot write the archive: what reads it stopped reading (broken pipe)\n",
    )


def test_the_path_rules_read_before_typer_are_those_pack_declares():
    """The early path checks -o and -f with `paths.TyperDefaults`: pack's own options."""
    from comwit.cli.app import load_command
    from comwit.cli.commands import COMMANDS
    from comwit.cli.paths import TyperDefaults

    command = load_command(next(c for c in COMMANDS if c.name == "pack"))
    rules = {
        param.name: param.type_descriptor.parameter_info
        for param in command.params
        if param.name in ("out", "manifest")
    }
    assert sorted(rules) == ["manifest", "out"]
    for info in rules.values():
        for rule in ("exists", "file_okay", "dir_okay", "readable", "writable"):
            assert getattr(info, rule) == getattr(TyperDefaults(), rule), rule


@pytest.mark.parametrize("glued", [False, True], ids=["early", "typer"])
def test_a_report_nobody_reads_is_exit_1_said_as_nothing(tmp_path, glued):
    """`comwit pack web -o FILE | head -0`: the report meets a closed pipe. Through typer,
    click exits 1 and says nothing; the early path said "comwit hit a bug (BrokenPipeError)"."""
    write_tree(tmp_path / "dist", SITE)
    _write(tmp_path)
    out = tmp_path / "web.tar.zst"
    reader, writer = os.pipe()
    os.close(reader)
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "comwit",
                "pack",
                "web",
                *([f"-o{out}"] if glued else ["-o", str(out)]),
            ],
            check=False,
            cwd=tmp_path,
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            timeout=60,
        )
    finally:
        os.close(writer)
    assert (proc.returncode, proc.stderr) == (1, "")
    assert out.read_bytes() == pack(tmp_path / "dist", tmp_path / "again.tar.zst").path.read_bytes()
