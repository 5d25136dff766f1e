"""Files comwit writes: whole or not at all, and a file that cannot be written is one line
naming it, why, and what to do; its own JSON files read back, refused in one line each."""

from __future__ import annotations

import fcntl
import json
import os
import stat

import pytest

from comwit import __version__
from comwit.errors import ComwitError, PlanError
from comwit.plan.actions import Plan
from comwit.store.files import (
    JsonKind,
    LockTimeoutError,
    create_beside,
    free_name_beside,
    locked,
    read_document,
    write_atomically,
    write_json,
    write_text,
)
from comwit.store.results import ShardResult, read_result, write_result
from comwit.store.saved import ManifestRef, SavedPlan, SavedPolicy, read_plan, write_plan


def test_a_text_file_is_written_whole_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "comwit.toml"
    write_text(path, "version = 1\n")
    assert path.read_text() == "version = 1\n"
    assert [p.name for p in path.parent.iterdir()] == ["comwit.toml"]


def test_a_new_file_beside_is_made_new_named_after_the_path_and_never_through_a_link(
    tmp_path, monkeypatch
):
    target = tmp_path / "app.tar.zst"
    fd, made = create_beside(target, ".partial", 0o640)
    os.close(fd)
    assert made.parent == tmp_path and made.name.startswith(".app.tar.zst.")
    assert made.name.endswith(".partial") and stat.S_IMODE(made.stat().st_mode) & 0o777 <= 0o640
    # A name already taken (a file, or a link planted there) is passed over, never opened.
    names = iter([b"\x00" * 4, b"\x00" * 4, b"\x01" * 4])
    monkeypatch.setattr(os, "urandom", lambda n: next(names))
    (tmp_path / ".app.tar.zst.00000000.partial").symlink_to(tmp_path / "elsewhere")
    fd, made = create_beside(target, ".partial")
    os.close(fd)
    assert made.name == ".app.tar.zst.01010101.partial"
    assert not (tmp_path / "elsewhere").exists()
    # When every name is taken, it stops and says so (a bounded loop, not an endless one).
    monkeypatch.setattr(os, "urandom", lambda n: b"\x01" * 4)
    with pytest.raises(FileExistsError, match="no free temporary name"):
        create_beside(target, ".partial")


def test_a_free_name_beside_passes_over_what_is_there_and_makes_nothing(tmp_path, monkeypatch):
    target = tmp_path / "app.tar.zst"
    (tmp_path / ".app.tar.zst.00000000.old").symlink_to(tmp_path / "dangling")
    names = iter([b"\x00" * 4, b"\x02" * 4])
    monkeypatch.setattr(os, "urandom", lambda n: next(names))
    assert free_name_beside(target, ".old") == tmp_path / ".app.tar.zst.02020202.old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".app.tar.zst.00000000.old"]
    monkeypatch.setattr(os, "urandom", lambda n: b"\x00" * 4)
    with pytest.raises(FileExistsError, match="no free temporary name"):
        free_name_beside(target, ".old")


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_a_new_file_gets_the_permissions_the_umask_gives_not_the_temporary_files(tmp_path, umask):
    before = os.umask(umask)
    try:
        write_text(tmp_path / "comwit.toml", "version = 1\n")
        write_json(tmp_path / "plan.json", {"a": 1}, what="the plan", ensure_ascii=False)
    finally:
        os.umask(before)
    for name in ("comwit.toml", "plan.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_a_file_written_again_keeps_its_permissions(tmp_path):
    path = tmp_path / "comwit.toml"
    path.write_text("old\n")
    path.chmod(0o640)
    write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.parametrize(
    ("hint", "ending"),
    [("", "(Is a directory)"), ("pick another -o FILE", "(Is a directory); pick another -o FILE")],
    ids=["no-hint", "hint"],
)
def test_a_text_file_that_cannot_be_written_names_it_why_and_the_hint(tmp_path, hint, ending):
    path = tmp_path / "comwit.toml"
    path.mkdir()
    with pytest.raises(ComwitError) as raised:
        write_text(path, "version = 1\n", hint=hint)
    assert str(raised.value) == f"cannot write {path} {ending}"
    assert list(tmp_path.iterdir()) == [path]  # the temporary file is gone


@pytest.mark.parametrize(
    ("ensure_ascii", "written"),
    [
        (False, '{\n  "a": [\n    1\n  ],\n  "b": "d\u00e9p\u00f4t"\n}\n'.encode()),
        (True, b'{\n  "a": [\n    1\n  ],\n  "b": "d\\u00e9p\\u00f4t"\n}\n'),
    ],
    ids=["utf-8", "ascii"],
)
def test_json_is_indented_sorted_and_ends_with_a_newline(tmp_path, ensure_ascii, written):
    path = tmp_path / "out.json"
    write_json(path, {"b": "d\u00e9p\u00f4t", "a": [1]}, what="plan", ensure_ascii=ensure_ascii)
    assert path.read_bytes() == written


def test_json_that_cannot_be_written_names_what_and_where(tmp_path):
    with pytest.raises(PlanError) as raised:
        write_json(tmp_path, {}, what="result", ensure_ascii=True)
    assert str(raised.value) == f"cannot write the result to {tmp_path}: Is a directory"


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_json_holding_a_name_that_is_not_utf8_is_refused_and_not_written(tmp_path, ensure_ascii):
    # A file name that is not UTF-8 arrives with its bytes kept as surrogates ("\udcff").
    path = tmp_path / "plan.json"
    with pytest.raises(PlanError) as raised:
        write_json(path, {"manifest": "\udcff.toml"}, what="saved plan", ensure_ascii=ensure_ascii)
    assert str(raised.value) == (
        f"cannot write the saved plan to {path}: a name in it is not UTF-8 text (a file or "
        "directory name, or a value given on the command line); rename it"
    )
    assert list(tmp_path.iterdir()) == []


def test_text_holding_a_name_that_is_not_utf8_is_refused_and_not_written(tmp_path):
    with pytest.raises(ComwitError, match="a name in it is not UTF-8 text"):
        write_text(tmp_path / "comwit.toml", 'build_dir = "\udcff"\n')
    assert list(tmp_path.iterdir()) == []


MANIFEST_PATH = "d\u00e9p\u00f4t/comwit.toml"  # not ASCII: the two files differ in how they keep it


def _today(document: object, *, ensure_ascii: bool) -> bytes:
    """The bytes saved plans and result files have always had."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)
    return (text + "\n").encode()


def test_a_saved_plan_keeps_its_utf8_bytes_and_reads_back(tmp_path):
    saved = SavedPlan(
        api_url="local",
        manifest=ManifestRef(path=MANIFEST_PATH, digest="sha256:x"),
        salt="ab" * 16,
        build_dirs={},
        interpolated={},
        live_env={},
        policy=SavedPolicy(),
        observed={},
        plan=Plan(project="demo"),
    )
    path = tmp_path / "plan.json"
    write_plan(path, saved)
    assert path.read_bytes() == _today(saved.model_dump(mode="json"), ensure_ascii=False)
    assert f'"path": "{MANIFEST_PATH}"'.encode() in path.read_bytes()
    assert read_plan(path) == saved


def test_a_result_file_keeps_its_ascii_bytes_and_reads_back(tmp_path):
    result = ShardResult(
        plan_id="0" * 16,
        manifest=MANIFEST_PATH,
        shard="1/2",
        started="2026-12-02T03:00:00+00:00",
        seconds=1.5,
        exit_code=0,
        apps=(),
        plan=Plan(project="demo"),
    )
    path = tmp_path / "result.json"
    write_result(path, result)
    assert path.read_bytes() == _today(result.model_dump(mode="json"), ensure_ascii=True)
    assert b'"manifest": "d\\u00e9p\\u00f4t/comwit.toml"' in path.read_bytes()
    assert read_result(path) == result


NOTE = JsonKind("comwit-note", "note file", "comwit note --out", 2**20)
ASKED = "was it written by `comwit note --out`?"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00", f"is not UTF-8 text; {ASKED}"),
        (b"{not json", f"is not JSON; {ASKED}"),
        (b"[" * 100_000 + b"]" * 100_000, f"is not JSON; {ASKED}"),  # too deep for json
        (b'["comwit-note"]', 'is not a comwit note file (no "kind": "comwit-note")'),
        (b'{"kind": "comwit-plan"}', 'is not a comwit note file (no "kind": "comwit-note")'),
        (b" " * (2**20 + 1), f"is larger than 1 MiB, more than any note file; {ASKED}"),
        (b'{"kind": "comwit-note", "n": ["\\ud800"]}', f"is not UTF-8 text; {ASKED}"),
        (b'{"kind": "comwit-note", "\\udfff": 1}', f"is not UTF-8 text; {ASKED}"),
    ],
    ids=[
        "binary",
        "not-json",
        "too-deep",
        "not-an-object",
        "other-kind",
        "too-large",
        "half-a-character",  # a \\u escape of one surrogate, which no UTF-8 text holds
        "half-a-character-key",
    ],
)
def test_a_bad_document_is_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "note.json"
    path.write_bytes(content)
    with pytest.raises(PlanError) as raised:
        read_document(path, NOTE)
    assert str(raised.value) == f"{path}: {message}"


def test_a_document_of_its_kind_is_read_back(tmp_path):
    path = tmp_path / "note.json"
    path.write_bytes(b'{"kind": "comwit-note", "n": 1, "d\\u00e9\\ud83d\\ude00": 2}')
    assert read_document(path, NOTE) == {"kind": "comwit-note", "n": 1, "d\u00e9\U0001f600": 2}


def test_a_missing_or_unreadable_document_says_so(tmp_path):
    with pytest.raises(PlanError) as raised:
        read_document(tmp_path / "n.json", NOTE)
    assert str(raised.value) == (
        f"{tmp_path / 'n.json'}: no such file; make one with `comwit note --out {tmp_path / 'n.json'}`"
    )
    with pytest.raises(PlanError) as raised:
        read_document(tmp_path, NOTE)
    assert str(raised.value) == f"{tmp_path}: cannot be read (Is a directory)"


def test_a_saved_plan_given_as_a_result_file_is_refused_by_its_kind(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text('{"kind": "comwit-plan", "format_version": 1}')
    with pytest.raises(PlanError) as raised:
        read_result(path)
    assert str(raised.value) == (
        f'{path}: is not a comwit result file (no "kind": "comwit-result")'
    )


@pytest.mark.parametrize(
    ("version", "shown"), [("1", "'1'"), (True, "true"), (1.0, "1.0"), (2, "2")]
)
def test_a_result_format_other_than_the_integer_1_is_refused_as_unknown(tmp_path, version, shown):
    result = ShardResult(
        plan_id="0" * 16,
        manifest="comwit.toml",
        shard=None,
        started="2026-12-02T03:00:00+00:00",
        seconds=1.5,
        exit_code=0,
        apps=(),
        plan=Plan(project="demo"),
    )
    path = tmp_path / "result.json"
    path.write_text(json.dumps(result.model_dump(mode="json") | {"format_version": version}))
    with pytest.raises(PlanError) as raised:
        read_result(path)
    assert str(raised.value) == (
        f"{path}: result file format {shown} is not supported by comwit {__version__} "
        "(it reads format 1); run `comwit report` with the comwit that wrote it"
    )


def test_a_result_file_missing_a_field_names_the_field(tmp_path):
    path = tmp_path / "result.json"
    path.write_text('{"kind": "comwit-result", "format_version": 1}')
    with pytest.raises(PlanError) as raised:
        read_result(path)
    assert str(raised.value) == f"{path}: plan_id: Field required"


class _Clock:
    """Time that passes only when the lock's wait sleeps."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.naps: list[float] = []  # when each nap began

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.naps.append(self.now)
        self.now += seconds


def test_a_lock_held_elsewhere_is_waited_for_a_bounded_time_then_named(tmp_path):
    path = tmp_path / "ledger.json"
    clock = _Clock()
    with (tmp_path / "ledger.json.lock").open("a") as other:  # another run's hold on it
        fcntl.flock(other, fcntl.LOCK_EX)
        with (
            pytest.raises(LockTimeoutError) as raised,
            locked(path, seconds=0.2, clock=clock, sleep=clock.sleep),
        ):
            pass
        deadline = 1_000.0 + 0.2
        assert clock.now >= deadline  # its whole wait: it gave up at the deadline
        assert clock.naps and max(clock.naps) < deadline  # and napped no more after it
        assert str(raised.value) == (
            f"{tmp_path / 'ledger.json.lock'} stayed locked by another comwit process for 0.2 s; "
            "is one stopped or hung?"
        )
        fcntl.flock(other, fcntl.LOCK_UN)
        naps = len(clock.naps)
        with locked(path, seconds=0.2, clock=clock, sleep=clock.sleep):  # let go: taken at once
            assert path.parent.is_dir()
        assert len(clock.naps) == naps


@pytest.mark.parametrize("name", ["x" * 255, "é" * 127, "x" * 250 + ".json"])
def test_a_name_as_long_as_a_file_name_may_be_still_has_a_temporary_beside_it(tmp_path, name):
    """`.NAME.RANDOM.tmp` is 14 bytes longer than NAME: cut, a long legal name still works."""
    path = tmp_path / name
    write_atomically(path, "{}")
    assert path.read_text() == "{}"
    fd, temporary = create_beside(path, ".partial")
    os.close(fd)
    assert len(os.fsencode(temporary.name)) <= 255
    assert temporary.name.startswith("." + name[:100]) and temporary.name.endswith(".partial")
    assert free_name_beside(path, ".old").name.endswith(".old")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, temporary.name])
