"""`comwit report`: the results of a plan's shards merged into one apply result. A shard
without a result is missing: its apps are reported not started, never as success. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from comwit.apply.result import ApplyResult, Outcome
from comwit.errors import PlanError
from comwit.escape import quoted
from comwit.exit_codes import EXIT_INTERRUPTED, EXIT_TERMINATED
from comwit.frozen import frozen
from comwit.plan.actions import Plan
from comwit.store.results import ShardResult


@frozen
class Merged:
    plan: Plan
    manifest: str
    result: ApplyResult
    missing: tuple[str, ...]  # shards ("2/4") without a result
    exit_code: int | None  # a shard's own (130, 143) when a signal stopped it


def merge(results: Sequence[tuple[str, ShardResult]]) -> Merged:
    """`results`: (file name, result) pairs of one saved plan; a shard given twice (a rerun)
    counts by its latest result."""
    if not results:
        raise PlanError("no result files given: pass the files `apply --result` wrote")
    first_name, first = results[0]
    latest: dict[str | None, ShardResult] = {}
    for name, result in results:
        _check_shard(name, result)
        if result.plan_id != first.plan_id:
            raise PlanError(f"{name} is the result of another plan than {first_name}")
        if _split_of(result) != _split_of(first):  # `--shard 1/3` beside `--shard 1/2`
            raise PlanError(
                f"{name} ({_shown(result)}) and {first_name} ({_shown(first)}) are results of "
                "different splits of the plan; pass the results of one matrix"
            )
        known = latest.get(result.shard)
        if known is None or known.started <= result.started:
            latest[result.shard] = result
    outcomes: dict[str, Outcome] = {}
    for result in sorted(latest.values(), key=lambda r: r.started):
        outcomes |= {app.outcome.app: app.outcome for app in result.apps}
    missing = _missing(first, latest)
    absent = {app for shard in missing for app in _apps_of(first, shard)}
    ordered = []
    for app in first.plan.apps:
        if app.app in outcomes:
            ordered.append(outcomes[app.app])
        elif app.app in absent:
            shard = next(s for s in missing if app.app in _apps_of(first, s))
            ordered.append(Outcome(app.app, "not_started", f"shard {shard} reported no result"))
        elif not app.changed and not app.error:
            ordered.append(Outcome(app.app, "unchanged"))
        else:  # a result of its shard that leaves it out: it was never reported done
            ordered.append(Outcome(app.app, "not_started", "no result file reports it"))
    hints = tuple(dict.fromkeys(h for r in latest.values() for h in r.hints))
    stopped = (EXIT_INTERRUPTED, EXIT_TERMINATED)
    codes = [r.exit_code for r in latest.values() if r.exit_code in stopped]
    return Merged(
        first.plan,
        first.manifest,
        ApplyResult(tuple(ordered), hints=hints),
        missing,
        codes[0] if codes else None,
    )


def _check_shard(name: str, result: ShardResult) -> None:
    """A result's shard ("I/N") is one of the N its plan was split into."""
    if result.shard is None:
        return
    index, _, count = result.shard.partition("/")
    good = index.isdecimal() and count.isdecimal() and index.isascii() and count.isascii()
    if not good or not 1 <= int(index) <= int(count) == len(result.shards):
        raise PlanError(
            f"{name}: its shard {quoted(result.shard)} is not one of the "
            f"{len(result.shards)} shards its plan was split into; pass the files "
            "`apply --result` wrote"
        )


def _split_of(result: ShardResult) -> tuple[str | None, tuple[tuple[str, ...], ...]]:
    """How the plan was split for this result: the N of its "I/N" and every shard's apps."""
    count = None if result.shard is None else result.shard.split("/", maxsplit=1)[-1]
    return count, result.shards


def _shown(result: ShardResult) -> str:
    return "the whole plan" if result.shard is None else f"shard {result.shard}"


def _missing(first: ShardResult, latest: dict[str | None, ShardResult]) -> tuple[str, ...]:
    if first.shard is None:
        return ()
    count = len(first.shards)
    return tuple(f"{i}/{count}" for i in range(1, count + 1) if f"{i}/{count}" not in latest)


def _apps_of(result: ShardResult, shard: str) -> tuple[str, ...]:
    index = int(shard.split("/", maxsplit=1)[0])
    return result.shards[index - 1]
