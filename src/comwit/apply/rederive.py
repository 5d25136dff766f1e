"""Before a saved plan runs: are its actions exactly those the manifest implies?

A saved plan is a file: it can be edited between `plan --out` and `apply`. So apply derives
the actions again, from the manifest, the build dirs' recorded digests and what the plan
recorded it observed (once apply has checked that this still holds), and refuses a plan
whose actions differ in any way, naming the first difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from comwit.artifact.tree import TreeDigest
from comwit.errors import TamperedPlanError
from comwit.escape import quoted as shown
from comwit.manifest import LoadedManifest
from comwit.manifest.interpolate import Interpolated
from comwit.plan.actions import Action, AppPlan, Deploy
from comwit.plan.desired import desired_state
from comwit.plan.diff import Policy, diff
from comwit.plan.state import ObservedApp, ObservedState
from comwit.store.saved import SavedPlan

_DISPLAY_ONLY = {"tree_changes": None, "size": 0}  # what this machine's caches add to a Deploy


def check_actions(
    saved: SavedPlan,
    loaded: LoadedManifest,
    env: Mapping[str, Mapping[str, Interpolated]],
    observed: ObservedState,
    skip: Sequence[str] = (),
) -> None:
    """Raise TamperedPlanError at the first way the saved plan's actions differ from the
    ones the manifest implies given `observed` (apps in `skip` are not applied: stale).
    Every app of the plan is an app of the manifest by now (`check_apps_named`)."""
    names = [app.app for app in saved.plan.apps if app.app not in skip]
    implied = implied_apps(saved, loaded, env, observed, names)
    for planned in saved.plan.apps:
        if planned.app not in skip:
            _compare(planned, implied[planned.app])


def implied_apps(
    saved: SavedPlan,
    loaded: LoadedManifest,
    env: Mapping[str, Mapping[str, Interpolated]],
    observed: ObservedState,
    names: Sequence[str],
) -> dict[str, AppPlan]:
    """The plans of the apps `names` that the manifest and the saved plan's recorded build
    dir digests imply, given `observed`."""
    apps = [loaded.apps[name] for name in names]
    trees = {
        app.name: TreeDigest(saved.build_dirs[app.name], (), 0, ())
        for app in apps
        if app.build_dir is not None and app.name in saved.build_dirs
    }
    for app in apps:
        if app.build_dir is not None and app.name not in trees:
            raise _tampered(f"app {shown(app.name)} has no recorded build dir digest")
    desired = desired_state(
        saved.plan.project, apps, env=env, trees=trees, environment=loaded.env, root=loaded.root
    )
    policy = Policy(saved.policy.allow_detach, saved.policy.allow_delete_env)
    return {app.app: app for app in diff(desired, observed, policy=policy).apps}


def implied_app(
    saved: SavedPlan,
    loaded: LoadedManifest,
    env: Mapping[str, Mapping[str, Interpolated]],
    observed: ObservedApp,
) -> AppPlan:
    """The plan of the app `observed` that the manifest and the saved plan imply now."""
    now = ObservedState(saved.plan.project, {observed.name: observed})
    return implied_apps(saved, loaded, env, now, [observed.name])[observed.name]


def is_rest_of(planned: AppPlan, implied: AppPlan) -> bool:
    """Whether `implied` is what is left of `planned` after a run carried out part of it:
    some of its changes are done, and what remains are changes it holds (the same ids)."""
    done = {a.id for a in planned.actions}
    left = {a.id for a in implied.actions}
    return implied.error is None and left < done


def check_apps_named(saved: SavedPlan, loaded: LoadedManifest) -> None:
    """Every app of the plan is an app of the manifest."""
    for app in saved.plan.apps:
        if app.app not in loaded.apps:
            raise _tampered(f"app {shown(app.app)} is in the plan but not in the manifest")


def _compare(planned: AppPlan, implied: AppPlan) -> None:
    where = f"app {shown(planned.app)}"
    if (planned.error is None) != (implied.error is None):
        raise _tampered(f"{where}: its error is not the one the manifest implies")
    _compare_actions(where, planned.actions, implied.actions, "action")
    _compare_actions(
        where,
        [held.action for held in planned.held],
        [held.action for held in implied.held],
        "held-back action",
    )
    for ours, theirs in zip(planned.held, implied.held, strict=True):
        if ours.reason != theirs.reason:
            raise _tampered(f"{where}: the reason {shown(ours.action.id)} is held back differs")


def _compare_actions(
    where: str, planned: Sequence[Action], implied: Sequence[Action], kind: str
) -> None:
    for index in range(max(len(planned), len(implied))):
        ours = _comparable(planned[index]) if index < len(planned) else None
        theirs = _comparable(implied[index]) if index < len(implied) else None
        if ours == theirs:
            continue
        if ours is None:
            assert theirs is not None
            raise _tampered(f"{where}: the plan lacks the {kind} {shown(theirs.id)}")
        if theirs is None:
            raise _tampered(f"{where}: the {kind} {shown(ours.id)} is not implied by the manifest")
        if ours.id != theirs.id:
            raise _tampered(
                f"{where}: the {kind} {shown(ours.id)} is where the manifest implies "
                f"{shown(theirs.id)}"
            )
        raise _tampered(f"{where}: the {kind} {shown(ours.id)}: {_field_difference(ours, theirs)}")


def _comparable(action: Action) -> Action:
    if isinstance(action, Deploy):
        return action.model_copy(update=_DISPLAY_ONLY)
    return action


def _field_difference(ours: Action, theirs: Action) -> str:
    mine, implied = ours.model_dump(mode="json"), theirs.model_dump(mode="json")
    field = next(key for key in sorted(mine) if mine.get(key) != implied.get(key))
    return (
        f"{field} is {shown(mine.get(field))} in the plan but "
        f"{shown(implied.get(field))} from the manifest"
    )


def _tampered(what: str) -> TamperedPlanError:
    return TamperedPlanError(
        f"the saved plan does not match the manifest: {what}; it was changed after "
        "`comwit plan --out` wrote it, or made by another comwit: plan again"
    )
