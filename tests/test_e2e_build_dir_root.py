"""End to end: an app whose build dir is the repository itself (`build_dir = "."`). apply
packs into its own work dir in .comwit/tmp, which the walk leaves out: it used to refuse
that as "inside the build dir", so such an app could never be deployed. A plan saved into
a build dir would change the tree it was made from: refused, unless excluded there."""

from __future__ import annotations

MANIFEST = """\
version = 1
project = "proj"
[apps.site]
build_dir = "."
exclude = ["plans/", "comwit.toml"]
"""


def test_an_app_built_at_the_root_is_applied_then_unchanged(world):
    world.write("index.html", "<p>home</p>")
    world.manifest(MANIFEST)
    applied = world.comwit("apply", "--yes")
    assert applied.code == 0, applied.err
    assert "failed" not in applied.out
    assert world.stats()["deploys"] == 1
    again = world.comwit("plan", "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert not list((world.root / ".comwit" / "tmp").glob("*/*.tar.zst"))  # cleaned up


def test_a_plan_saved_into_a_build_dir_is_refused_unless_excluded_there(world):
    world.write("index.html", "<p>home</p>")
    world.manifest(MANIFEST)
    refused = world.comwit("plan", "-o", "index.html")
    assert refused.code == 1
    assert refused.err.splitlines()[-1] == (
        "error: cannot save the plan to index.html: it is inside the build dir of app site "
        f"({world.root.resolve()}); write it elsewhere"
    )
    assert (world.root / "index.html").read_text() == "<p>home</p>"
    for kept in ("plans/p.json", ".comwit/p.json"):  # excluded, and comwit's own
        saved = world.comwit("plan", "-o", kept)
        assert saved.code == 0, saved.err
        assert world.comwit("apply", kept, "--yes").code == 0


def test_pack_writes_into_a_left_out_directory_of_the_build_dir_only(world):
    world.write("index.html", "<p>home</p>")
    world.manifest(MANIFEST)
    (world.root / "plans").mkdir()
    assert world.comwit("pack", "site", "-o", "plans/site.tar.zst").code == 0
    inside = world.comwit("pack", "site", "-o", "site.tar.zst")
    assert inside.code == 1
    assert "inside the build dir" in inside.err


def test_a_build_dir_that_is_the_root_by_another_name_leaves_comwit_out_too(world):
    """`build_dir = "link"`, link -> ".": compared unresolved, .comwit/ was packed (the
    emulator's database) and apply refused its own work dir."""
    world.write("index.html", "<p>home</p>")
    (world.root / "link").symlink_to(".")
    world.manifest(MANIFEST.replace('build_dir = "."', 'build_dir = "link"'))
    applied = world.comwit("apply", "--yes")
    assert applied.code == 0, applied.out + applied.err
    (world.root / "plans").mkdir()
    packed = world.comwit("pack", "site", "-o", "plans/site.tar.zst")
    assert packed.code == 0, packed.err
    import io
    import tarfile

    import zstandard

    packed_bytes = (world.root / "plans/site.tar.zst").read_bytes()
    tar = zstandard.ZstdDecompressor().decompressobj().decompress(packed_bytes)
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r|") as archive:
        names = [member.name for member in archive]
    assert "./index.html" in names or "index.html" in names
    assert not [n for n in names if ".comwit" in n]
