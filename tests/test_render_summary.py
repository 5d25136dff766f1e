"""What apply prints last: the outcome per app, the live URLs, hints; and the same as JSON."""

from __future__ import annotations

import json

from comwit.apply.holder import Holder, conflict_message
from comwit.apply.result import ApplyResult, Outcome, live_url
from comwit.render.summary import render_summary, render_summary_json


def test_the_live_url_is_the_apis_default_url_else_the_first_active_hostname():
    assert live_url("https://web.apps.example", ["www.example.com"]) == "https://web.apps.example"
    assert live_url(None, ["www.example.com", "a.example.com"]) == "https://a.example.com"
    assert live_url(None, []) is None


def test_the_summary_ends_with_the_live_urls_and_the_hints_also_in_json():
    result = ApplyResult(
        (
            Outcome("web", "done", build_id="b2", steps=("upload",), url="https://www.example.com"),
            Outcome("api", "unchanged", url="https://api.apps.example"),
            Outcome("new", "failed", detail="boom"),
        ),
        hints=('keep it: build = "b1"',),
    )
    text = render_summary(result)
    assert text.endswith(
        "Live URLs:\n  web  https://www.example.com\n  api  https://api.apps.example\n"
        'keep it: build = "b1"'
    )
    document = json.loads(render_summary_json(result))
    assert document["urls"] == {"web": "https://www.example.com", "api": "https://api.apps.example"}
    assert document["hints"] == ['keep it: build = "b1"']
    assert [app["url"] for app in document["apps"]] == [
        "https://www.example.com",
        "https://api.apps.example",
        None,
    ]


def test_a_409_on_attach_is_explained_in_manifest_terms():
    held = conflict_message("web", "www.example.com", "staging", Holder("prod", "site"))
    assert held.startswith(
        "hostname www.example.com is attached to app 'site' of project prod (409); a hostname "
        "belongs to one app at a time: remove it from apps.web.hosts"
    )
    here = conflict_message("web", "www.example.com", "prod", Holder("prod", "site"))
    assert "attached to app 'site' of this project" in here
    unknown = conflict_message("web", "www.example.com", "prod", None, "DNS record exists")
    assert unknown.startswith(
        "attaching hostname www.example.com conflicts with existing state (409: DNS record exists)"
    )
    assert unknown.endswith("or remove it from apps.web.hosts")


def test_an_app_an_earlier_run_applied_says_so_instead_of_counting_no_steps():
    earlier = Outcome("web", "done", "applied by an earlier run of this plan", build_id="b2")
    this_run = Outcome("api", "done", build_id="b3", steps=("upload build",))
    lines = render_summary(ApplyResult((earlier, this_run))).splitlines()
    assert lines[:3] == [
        "Apply complete: 2 done; 0 B uploaded.",
        "  done     web  build b2 is live; applied by an earlier run of this plan",
        "  done     api  build b3 is live; 1 step",
    ]


def test_an_app_another_run_applied_is_listed_unchanged_with_why_the_others_are_not():
    other = Outcome("web", "unchanged", "already applied by another run: its live build b2 is ...")
    quiet = Outcome("api", "unchanged")
    lines = render_summary(ApplyResult((other, quiet))).splitlines()
    assert lines == [
        "Apply complete: 2 unchanged; 0 B uploaded.",
        "  unchanged  web  already applied by another run: its live build b2 is ...",
    ]
