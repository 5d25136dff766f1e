"""`comwit init`: a starter comwit.toml from the build dirs found (or the project's apps),
`.comwit/` kept out of git, and the next command; packing never takes a repository along."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.e2e_support import PROJECT
from tests.special_files import fifo_opened_later


@pytest.fixture
def fresh(world):
    """The world's project directory without a manifest, its builds in dist/ and build/."""
    (world.root / "comwit.toml").unlink()
    world.write("web/dist/index.html", "<h1>hi</h1>")
    world.write("api/build/server.js", "serve()")
    world.write("node_modules/left-pad/dist/index.js", "x")  # a dependency, not an app
    return world


def test_init_finds_the_build_dirs_and_the_manifest_it_writes_deploys(fresh):
    result = fresh.comwit("init", "--project", PROJECT)
    assert result.code == 0, result.err
    assert result.err.splitlines() == [
        "Wrote comwit.toml: 2 apps (api, web).",
        "Added .comwit/ to .gitignore (comwit's caches and local state).",
        "Next: run `comwit validate`, then `comwit plan`.",
    ]
    text = (fresh.root / "comwit.toml").read_text()
    assert f'project = "{PROJECT}"' in text
    assert '[apps.web]\nbuild_dir = "web/dist"' in text
    assert '[apps.api]\nbuild_dir = "api/build"' in text
    assert fresh.comwit("validate").code == 0
    applied = fresh.comwit("apply", "--yes")
    assert applied.code == 0, applied.err
    assert fresh.comwit("plan", "--detailed-exitcode").code == 0


@pytest.mark.skipif(not shutil.which("git"), reason="needs git")
def test_git_status_does_not_show_comwits_state_after_init(fresh):
    subprocess.run(["git", "init", "-q", str(fresh.root)], check=True, timeout=30)
    assert fresh.comwit("init", "--project", PROJECT).code == 0
    assert fresh.comwit("apply", "--yes", "--api-url", "local").code == 0
    assert (fresh.root / ".comwit").is_dir()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=fresh.root, capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    assert ".comwit" not in status
    assert "comwit.toml" in status


def test_init_keeps_an_existing_ignore_line_and_an_existing_manifest(fresh):
    (fresh.root / ".gitignore").write_text("node_modules\n/.comwit\n")
    assert fresh.comwit("init").code == 0
    assert (fresh.root / ".gitignore").read_text() == "node_modules\n/.comwit\n"
    again = fresh.comwit("init")
    assert again.code == 1
    assert again.err == "error: comwit.toml already exists here; pass --force to overwrite it\n"
    assert fresh.comwit("init", "--force").code == 0
    (fresh.root / "comwit.toml").unlink()
    (fresh.root / "comwit.toml").symlink_to("shared/comwit.toml")  # dangling: still kept
    assert fresh.comwit("init").code == 1
    assert (fresh.root / "comwit.toml").is_symlink()


def _odd_gitignore(root, kind):
    path = root / ".gitignore"
    if kind == "not UTF-8":
        path.write_bytes(b"node_modules\n\xff\xfe\n")
    else:
        path.mkdir()


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("not UTF-8", "not UTF-8 text"),
        ("a directory", "Is a directory"),
    ],
)
def test_an_odd_gitignore_is_a_warning_after_the_manifest_is_written(fresh, kind, why):
    _odd_gitignore(fresh.root, kind)
    result = fresh.comwit("init", "--project", PROJECT)
    assert result.code == 0, result.err
    assert result.err.splitlines()[1:] == [
        f"warning: could not add .comwit/ to .gitignore ({why}); add that line yourself",
        "Next: run `comwit validate`, then `comwit plan`.",
    ]
    assert fresh.comwit("validate").code == 0


def test_a_gitignore_that_is_a_fifo_is_not_waited_on(fresh):
    with fifo_opened_later(fresh.root / ".gitignore", "w"):
        result = fresh.comwit("init", "--project", PROJECT)
    assert result.code == 0, result.err
    assert "(is a FIFO, not a regular file); add that line yourself" in result.err


def test_init_without_a_project_says_to_set_one(fresh):
    result = fresh.comwit("init")
    assert result.code == 0
    assert result.err.splitlines()[-1] == (
        'Next: set project = "..." in comwit.toml; run `comwit validate`, then `comwit plan`.'
    )
    assert '# project = "your-project-id"' in (fresh.root / "comwit.toml").read_text()


def test_init_over_a_directory_says_it_cannot_write_the_manifest(world):
    (world.root / "comwit.toml").unlink()
    (world.root / "comwit.toml").mkdir()
    result = world.comwit("init", "--force")
    assert result.code == 1
    assert (
        result.err.strip() == f"error: cannot write {world.root / 'comwit.toml'} (Is a directory)"
    )


def test_init_import_where_the_local_emulator_has_no_state_says_to_run_it_there(fresh):
    result = fresh.comwit("init", "--import", "--project", PROJECT, "--api-url", "local")
    assert (result.code, result.out) == (1, "")
    assert result.err.strip().endswith(
        "(--api-url local keeps it next to the manifest): run init where the apps were applied from"
    )
    assert not (fresh.root / ".comwit").exists()


def test_init_import_describes_the_projects_apps(world):
    assert world.comwit("apply", "--yes").code == 0
    (world.root / "comwit.toml").unlink()
    world.write("web/dist/index.html", "<h1>v2</h1>")  # a build dir named after an app
    result = world.comwit("init", "--import", "--project", PROJECT)
    assert result.code == 0, result.err
    text = (world.root / "comwit.toml").read_text()
    assert 'build_dir = "web/dist"' in text  # found, so filled in
    assert 'build_dir = "TODO/path/to/api/build"' in text
    assert '"www.example.com"' in text
    assert result.err.splitlines()[-1] == (
        "Next: replace each TODO build_dir; run `comwit validate`, then `comwit plan`."
    )


def test_a_repository_inside_a_build_dir_is_never_uploaded(world):
    assert world.comwit("apply", "--yes").code == 0
    world.write("web/.git/HEAD", "ref: refs/heads/main\n")
    world.write("web/.git/objects/ab/cdef", "blob")
    world.write("web/.svn/entries", "12")
    plan = world.comwit("plan", "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err  # nothing to upload: the same content


def test_secret_looking_files_get_one_warning_naming_them_all(world):
    world.write("web/.env", "TOKEN=1")
    world.write("web/certs/tls.pem", "-")
    world.write("web/CVS/Entries", "")
    plan = world.comwit("plan")
    warnings = [line for line in plan.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, plan.err
    assert "3 paths in" in warnings[0]
    assert ".env, CVS/, certs/tls.pem" in warnings[0]


def test_a_symlinked_gitignore_is_left_alone_and_nothing_is_made_where_it_points(fresh, tmp_path):
    target = tmp_path / "elsewhere" / "ignore"
    (fresh.root / ".gitignore").symlink_to(target)  # dangling: writing would create it
    result = fresh.comwit("init", "--project", PROJECT)
    assert result.code == 0, result.err
    assert result.err.splitlines()[1] == (
        "warning: left .gitignore as it is: it is a symbolic link, which git does not read;"
        " add .comwit/ to a .gitignore git reads"
    )
    assert not target.parent.exists()


def test_a_gitignore_line_that_keeps_comwits_state_in_git_is_respected_and_named(fresh):
    (fresh.root / ".gitignore").write_text("# ours\n.comwit/\n!.comwit/\n")
    result = fresh.comwit("init", "--project", PROJECT)
    assert result.code == 0, result.err
    assert result.err.splitlines()[1] == (
        "warning: left .gitignore as it is: its line 3, '!.comwit/', keeps .comwit/"
        " (comwit's caches and local state) in git"
    )
    assert (fresh.root / ".gitignore").read_text() == "# ours\n.comwit/\n!.comwit/\n"


@pytest.mark.skipif(not shutil.which("git"), reason="needs git")
@pytest.mark.parametrize(
    "text",
    [
        ".comwit/",
        "/.comwit",
        "  .comwit/",  # leading blanks are part of the pattern: this ignores nothing here
        ".comwit/   ",  # trailing blanks are not
        ".comwit/\\ ",  # an escaped one is
        ".comwit/*",
        ".comwit/state.json",
        ".comwit/\n!.comwit/emulator",  # nothing under an ignored directory comes back
        ".comwit/*\n!.comwit/emulator",
        "*\n!*.toml",
        "a\\",  # not a pattern: git passes over it
        "node_modules/\n[z-a]",  # nor this one (re.error in pathspec)
        "\\#.comwit",
        ".c*/\n!.comwit/tmp/",
        "*\n!*/",  # the allow-list idiom: directories back, their files still ignored
        "*\n!*/\n!*.py",
        "*\n!.comwit/",
        "*\n!.comwit",
        ".comwit/**\n!.comwit/**/",
        "*.json\n*.zst\n!tmp",
        "!*.json",  # negates nothing
        "!state.json",
        "!.comwit/*",
        "!.comwit/\n.comwit/tmp",
        ".comwit/state.json\n.comwit/emulator/\n.comwit/tmp/",
        "*.json\n*.zst",
        ".comwit/*\n!.comwit/state.json",  # the ledger kept in git, on purpose
        ".comwit/\t",  # git keeps the tab: it names `.comwit<TAB>`
        ".comwit/\u00a0",
        ".comwit/\x0b",
        ".comwit/\r",  # a CRLF line
        ".comwit/\r\r",
        "foo\r.comwit/",  # a lone CR is no end of line
        "foo\x0c.comwit/",
        "x\u2028.comwit/",
        "\ufeff.comwit/",  # a BOM before the first line
        ".[[:alpha:]]omwit/",
    ],
)
def test_init_adds_the_ignore_line_exactly_when_git_would_not_ignore_comwits_state(tmp_path, text):
    from comwit.manifest.starter import STATE_PROBES, KeptInGit, ignore_state_dir

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    gitignore = tmp_path / ".gitignore"
    gitignore.write_bytes((text + "\n").encode())
    git_ignores_all = _git_ignores(tmp_path, STATE_PROBES)
    try:
        added = ignore_state_dir(tmp_path)
    except KeptInGit as kept:
        assert not git_ignores_all
        number = int(str(kept).split("its line ")[1].split(",")[0])
        lines = (text + "\n").split("\n")
        gitignore.write_bytes("\n".join(lines[: number - 1] + lines[number:]).encode())
        assert _git_ignores(tmp_path, STATE_PROBES)  # the line named is the one that keeps it
        return
    assert added == (not git_ignores_all)
    assert _git_ignores(tmp_path, STATE_PROBES)


def test_the_probes_stand_for_every_file_comwit_keeps_in_its_directory(world):
    """For each of these .gitignore files, whether git ignores all of STATE_PROBES is
    whether it ignores all of a real .comwit/ (an applied project, its emulator, a saved
    plan, the stat and tree caches)."""
    from comwit.manifest.starter import STATE_PROBES

    if not shutil.which("git"):
        pytest.skip("needs git")
    assert world.comwit("apply", "--yes", "--api-url", "local").code == 0
    world.write("web/index.html", "<h1>v2</h1>")
    assert world.comwit("plan", "--api-url", "local", "--out", ".comwit/plan.json").code == 0
    real = sorted(
        path.relative_to(world.root).as_posix()
        for path in (world.root / ".comwit").rglob("*")
        if path.is_file()
    )
    assert {p.split("/")[1] for p in real} >= {"emulator", "stat", "trees", "plan.json"}
    subprocess.run(["git", "init", "-q", str(world.root)], check=True, timeout=30)
    for text in [
        ".comwit/",
        ".comwit/state.json\n.comwit/emulator/\n.comwit/tmp/\n",
        ".comwit/emulator/\n.comwit/stat/\n.comwit/trees/\n.comwit/*.json\n",
        "*.json\n*.zst\n",
        ".comwit/*\n!.comwit/stat/\n",
        "",
    ]:
        (world.root / ".gitignore").write_text(text)
        assert _git_ignores(world.root, real) == _git_ignores(world.root, STATE_PROBES), text


def _git_ignores(root, paths):
    """Whether git ignores every one of `paths` (exit 1 from check-ignore: none is)."""
    checked = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths],
        cwd=root, capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    assert checked.returncode in (0, 1), checked.stderr
    return checked.stdout.split() == list(paths)


@pytest.mark.parametrize(
    ("text", "added"),
    [
        (".comwit/\n", False),
        ("/.comwit\n", False),
        ("*\n", True),
        ("!.comwit/\n", True),
        ("!.comwit/state.json\n.comwit/*\n", False),  # the last line that matches counts
    ],
)
def test_without_git_only_a_line_naming_comwits_directory_counts(
    tmp_path, monkeypatch, text, added
):
    from comwit.manifest.starter import ignore_state_dir

    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    (tmp_path / ".gitignore").write_text(text)
    assert ignore_state_dir(tmp_path) is added
    assert (tmp_path / ".gitignore").read_text() == (
        text + "# comwit's local state: caches, the embedded emulator\n.comwit/\n"
        if added
        else text
    )


def test_without_git_a_negation_after_the_line_naming_comwit_is_respected(tmp_path, monkeypatch):
    from comwit.manifest.starter import KeptInGit, ignore_state_dir

    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    (tmp_path / ".gitignore").write_text(".comwit/*\n!.comwit/state.json\n")
    with pytest.raises(KeptInGit) as kept:
        ignore_state_dir(tmp_path)
    assert "its line 2, '!.comwit/state.json', keeps .comwit/" in str(kept.value)
    assert (tmp_path / ".gitignore").read_text() == ".comwit/*\n!.comwit/state.json\n"


@pytest.mark.skipif(not shutil.which("git"), reason="needs git")
def test_only_the_gitignore_itself_counts_not_the_users_git_setup(tmp_path, monkeypatch):
    """A global excludes file ignores .comwit/ for this user only; GIT_DIR would point git at
    another repository, a broken config would make it fail."""
    from comwit.manifest.starter import KeptInGit, ignore_state_dir

    (tmp_path / "xdg" / "git").mkdir(parents=True)
    (tmp_path / "xdg" / "git" / "ignore").write_text(".comwit/\n")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".gitconfig").write_text("[include\n")  # not a config git reads
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".gitignore").write_text("*.json\n")
    assert ignore_state_dir(repo) is True
    (repo / ".gitignore").write_text(".comwit/*\n!.comwit/state.json\n")
    with pytest.raises(KeptInGit, match="its line 2"):  # git itself ran, and said so
        ignore_state_dir(repo)
