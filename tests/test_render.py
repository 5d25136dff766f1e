"""Plan rendering: text, Markdown (PR comments, size budget) and JSON (schema)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from comwit.artifact.tree import FileEntry
from comwit.plan.diff import diff
from comwit.plan.state import DesiredState, ObservedState
from comwit.render.jsonplan import plan_document, plan_schema, render_json
from comwit.render.markdown import BUDGET, marker, render_markdown
from comwit.render.text import render_text

from tests.factories import DIGEST_A, DIGEST_B, desired, ledger, observed, sample_plan

SCHEMA_FILE = Path(__file__).parent.parent / "docs" / "plan.schema.json"


def test_text_plan_reads_like_terraform():
    text = render_text(sample_plan())
    assert text == (
        "comwit plan for project demo: 3 apps in the manifest\n"
        "\n"
        "Symbols: + create, ~ change, - remove, ! held back.\n"
        "\n"
        "~ api\n"
        "    + env DB = (hidden: from the environment)\n"
        '    ~ env LEVEL = "warn" (changed)\n'
        "    - env OLD (delete)  [destructive]\n"
        "    ~ upload build: content changed bbbbbbbbbbbb -> aaaaaaaaaaaa\n"
        "        dist (100 B, digest aaaaaaaaaaaa)\n"
        "    + attach hostname api.example.com (external DNS)\n"
        "    - detach hostname old.example.com  [destructive]\n"
        "\n"
        "! web\n"
        "    ! held back: detach hostname legacy.example.com: app 'web' is protected "
        "(protect = true); pass --allow-detach legacy.example.com to allow it\n"
        "\n"
        "Not in the manifest, left alone: 1 live app (batch).\n"
        "\n"
        "Plan: 1 to upload, 1 hostname to attach, 1 hostname to detach, 2 env vars to set, "
        "1 env var to delete; 1 change held back, 1 app unchanged."
    )


def test_sensitive_values_never_appear_in_any_rendering():
    plan = sample_plan()
    for rendered in (render_text(plan, verbose=True), render_markdown(plan), render_json(plan)):
        assert "s3cr3t" not in rendered


def test_live_env_values_are_never_shown_they_may_have_come_from_the_environment():
    have = observed(live="b", ledger=ledger(("b", DIGEST_A)), env={"DB": "old-s3cr3t"})
    plan = diff(
        DesiredState("demo", (desired(env={"DB": "literal"}),)),
        ObservedState("demo", {"web": have}),
    )
    for rendered in (render_text(plan, verbose=True), render_markdown(plan), render_json(plan)):
        assert "old-s3cr3t" not in rendered
    assert '~ env DB = "literal" (changed)' in render_text(plan)


def test_verbose_text_lists_unchanged_and_unmanaged_apps_and_ledger_steps():
    text = render_text(sample_plan(), verbose=True)
    assert "  docs: no changes" in text
    assert "Not in the manifest, left alone: 1 live app (batch)." in text
    assert ". record in the ledger what the build holds (aaaaaaaaaaaa)" in text


def test_colour_comes_from_the_painter():
    text = render_text(sample_plan(), paint=lambda style, s: f"<{style}>{s}</{style}>")
    assert "<remove>    - detach hostname old.example.com  [destructive]</remove>" in text


def test_no_changes_is_said_plainly():
    plan = diff(
        DesiredState("demo", (desired(),)),
        ObservedState("demo", {"web": observed(live="b", ledger=ledger(("b", DIGEST_A)))}),
    )
    assert render_text(plan).endswith("No changes: 1 app unchanged.")
    assert "**No changes:**" in render_markdown(plan)


def test_markdown_has_marker_table_destructive_callout_and_sections():
    text = render_markdown(sample_plan())
    assert text.startswith(
        "<!-- comwit:plan manifest=comwit.toml project=demo environment= -->\n"
        "### comwit plan for `demo`\n"
    )
    assert (
        "| `api` | set env x2, delete env, upload, attach hostname, detach hostname · **destructive** |"
        in text
    )
    assert "| `web` | 1 held back |" in text
    assert (
        "> **Destructive changes:**\n> - `api`: env OLD (delete)\n> - `api`: detach hostname old.example.com"
        in text
    )
    assert "<details><summary><code>api</code>: 6 changes</summary>" in text
    assert "docs" not in text


def test_markdown_stays_under_budget_with_500_changed_apps():
    apps = tuple(
        desired(f"app-{i:03d}", hosts=(f"h{i}.example.com",), env={"K": "v" * 50})
        for i in range(500)
    )
    plan = diff(DesiredState("demo", apps), ObservedState("demo", {}))
    text = render_markdown(plan)
    assert len(text) < BUDGET
    assert "more app(s) are not shown to keep this comment under the size limit" in text
    assert "app-000" in text


def test_markdown_fence_cannot_be_closed_by_a_value():
    plan = diff(DesiredState("demo", (desired(env={"A": "```"}),)), ObservedState("demo", {}))
    text = render_markdown(plan)
    assert "````diff" in text


def test_json_plan_validates_against_its_schema_and_has_stable_ids():
    document = json.loads(render_json(sample_plan()))
    jsonschema.Draft202012Validator(plan_schema()).validate(document)
    ids = [a["id"] for app in document["apps"] for a in app["actions"]]
    assert "api/hosts/old.example.com/detach" in ids
    assert document["summary"]["upload"] == 1
    assert document["apps"][0]["preconditions"]["active_build_id"] == "build-1"
    assert document["format_version"] == 1


def test_json_plan_with_500_apps_validates():
    apps = tuple(desired(f"app-{i:03d}") for i in range(500))
    document = plan_document(diff(DesiredState("demo", apps), ObservedState("demo", {})))
    jsonschema.Draft202012Validator(plan_schema()).validate(json.loads(json.dumps(document)))


def test_documented_schema_is_the_generated_one():
    assert json.loads(SCHEMA_FILE.read_text()) == json.loads(json.dumps(plan_schema())), (
        "docs/plan.schema.json is stale: run `comwit schema --plan > docs/plan.schema.json`"
    )


def test_marker_names_manifest_project_and_environment():
    plan = sample_plan()
    prod = render_markdown(
        plan.model_copy(update={"environment": "prod"}), manifest="deploy/comwit.toml"
    )
    staging = render_markdown(
        plan.model_copy(update={"environment": "staging"}), manifest="deploy/comwit.toml"
    )
    assert prod.startswith(
        "<!-- comwit:plan manifest=deploy/comwit.toml project=demo environment=prod -->\n"
    )
    assert prod.splitlines()[0] != staging.splitlines()[0]
    assert (
        render_markdown(plan, manifest="a.toml").splitlines()[0]
        != render_markdown(plan).splitlines()[0]
    )


def test_marker_values_cannot_end_the_comment_or_fake_a_field():
    line = marker("my dir/x-->.toml", "p project=q", None)
    assert line.count("-->") == 1 and line.endswith(" -->")
    assert (
        line
        == "<!-- comwit:plan manifest=my%20dir/x--%3E.toml project=p%20project%3Dq environment= -->"
    )


def test_markdown_head_names_the_commit():
    text = render_markdown(sample_plan(), commit="0123456789ab")
    assert "### comwit plan for `demo` at 0123456789ab\n" in text


def _content_change(added: int, changed: int, removed: int):
    old = [FileEntry(f"gone-{i:02d}.js", "file", 1, "0" * 64) for i in range(removed)]
    old += [FileEntry(f"page-{i:02d}.html", "file", 1, "0" * 64) for i in range(changed)]
    new = [FileEntry(f"new-{i:02d}.css", "file", 1, "1" * 64) for i in range(added)]
    new += [FileEntry(f"page-{i:02d}.html", "file", 1, "2" * 64) for i in range(changed)]
    return diff(
        DesiredState("demo", (desired(digest=DIGEST_A),)),
        ObservedState("demo", {"web": observed(live="b", ledger=ledger(("b", DIGEST_B)))}),
        trees={DIGEST_B: old, DIGEST_A: new},
    )


def test_changed_paths_are_listed_with_v_and_in_markdown_capped_with_and_n_more():
    plan = _content_change(added=1, changed=12, removed=25)
    brief = render_text(plan)
    assert "1 file added, 12 changed, 25 removed" in brief
    assert "page-00.html" not in brief
    text = render_text(plan, verbose=True)
    assert "            + new-00.css\n" in text
    assert "            ~ page-09.html\n            ~ page-10.html" not in text
    assert "              and 2 more changed\n" in text
    assert "              and 15 more removed" in text
    markdown = render_markdown(plan)
    assert "#       ~ page-11.html\n" in markdown
    assert "#       - gone-19.js\n#         and 5 more removed\n" in markdown
    document = plan_document(plan)
    changes = document["apps"][0]["actions"][0]["tree_changes"]
    assert changes["added_paths"] == ["new-00.css"]
    assert len(changes["removed_paths"]) == 25


def test_text_and_markdown_use_one_legend_and_a_new_apps_upload_is_a_create():
    plan = diff(DesiredState("demo", (desired(),)), ObservedState("demo", {}))
    text, markdown = render_text(plan), render_markdown(plan)
    assert "Symbols: + create, ~ change, - remove, ! held back." in text
    assert "Symbols: `+` create, `~` change, `-` remove, `!` held back." in markdown
    assert "    + upload build: new app" in text
    assert "\n+ upload build: new app\n" in markdown
    held = render_markdown(sample_plan())
    assert "\n! held back: detach hostname legacy.example.com" in held
    assert "\n~ env LEVEL" in held


def test_a_selection_says_how_many_of_the_manifest_apps_it_plans():
    plan = diff(
        DesiredState("demo", (desired("site"),), not_selected=("web", "api")),
        ObservedState("demo", {}),
    )
    assert render_text(plan).startswith("comwit plan for project demo: 1 of 3 apps selected\n")
    assert "Not selected (--app / --exclude-app): api, web" in render_text(plan, verbose=True)
    assert "1 of 3 apps selected: `site`." in render_markdown(plan)
    assert "Not in the manifest" not in render_text(plan)
