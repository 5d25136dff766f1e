"""Previews: a pull request's own copy of the apps, as a transform of the desired state.

`names` makes the preview apps' names, `transform` turns a loaded manifest into the preview's
(renamed apps, [preview] settings, no production hostnames), `claim` marks the plan's apps as
comwit's previews, and `select` picks the marked previews that `down` and `prune` delete.
"""
