"""Files comwit writes: whole or not at all, and a file that cannot be written is one line
naming it, why, and what to do."""

from __future__ import annotations

import pytest

from comwit.errors import ComwitError
from comwit.store.files import write_text

from tests.e2e_support import PROJECT


def test_a_text_file_is_written_whole_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "comwit.toml"
    write_text(path, "version = 1\n")
    assert path.read_text() == "version = 1\n"
    assert [p.name for p in path.parent.iterdir()] == ["comwit.toml"]


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


def test_init_over_a_directory_says_it_cannot_write_the_manifest(world):
    (world.root / "comwit.toml").unlink()
    (world.root / "comwit.toml").mkdir()
    result = world.comwit("init", "--force")
    assert result.code == 1
    assert (
        result.err.strip() == f"error: cannot write {world.root / 'comwit.toml'} (Is a directory)"
    )


def test_import_to_a_path_below_a_file_says_to_pick_another_file(world):
    assert world.comwit("apply", "--yes").code == 0
    result = world.comwit("import", "--project", PROJECT, "-o", "comwit.toml/again.toml")
    assert result.code == 1
    assert result.err.strip() == (
        "error: cannot write comwit.toml/again.toml (File exists); pick another -o FILE"
    )
