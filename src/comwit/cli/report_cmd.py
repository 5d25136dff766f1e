"""`comwit report RESULT...`: the shards' results of one saved plan as one summary, one exit
code, one job summary and one update of the pull-request comment."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from comwit.apply.merge import merge
from comwit.cli.applying import show_result
from comwit.cli.ci_options import CiChoice, Comment, CommentOn, CommentWhen, NoSummary, after_apply
from comwit.cli.settings import FORMAT, VERBOSITY, Settings, command
from comwit.exit_codes import EXIT_ERROR
from comwit.store.results import read_result


@command(FORMAT, VERBOSITY)
def report(
    settings: Settings,
    results: Annotated[
        list[Path], typer.Argument(help="The files `apply --result` wrote.", show_default=False)
    ],
    comment: Comment = False,
    comment_on: CommentOn = CommentWhen.changes,
    no_summary: NoSummary = False,
) -> int:
    """Merge the results of a plan's shards into one summary and exit code; missing shards fail."""
    merged = merge([(str(path), read_result(path)) for path in results])
    console = settings.console
    code = show_result(merged.result, settings.output_format, console)
    for shard in merged.missing:
        console.error(f"shard {shard} reported no result: rerun its job (its apps are not done)")
    settings = dataclasses.replace(settings, manifest_file=Path(merged.manifest))
    choice = CiChoice(comment, comment_on, no_summary)
    after_apply(settings, merged.plan, merged.result, choice=choice)
    if merged.exit_code is not None:
        return merged.exit_code
    return EXIT_ERROR if merged.missing else code
