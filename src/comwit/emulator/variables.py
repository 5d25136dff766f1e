"""App environment variables in the emulator: list, upsert, delete; secret values are refused.

Changes are logged as events of the app, by key only: a value never reaches the logs."""

from __future__ import annotations

import re
from typing import Final

from comwit.emulator import logs, schemas
from comwit.emulator.problems import bad_request, not_found
from comwit.emulator.store import Principal, Store
from comwit.escape import quoted

KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def list_variables(
    store: Store, who: Principal, project_id: str, app_id: str
) -> schemas.VariableList:
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        rows = db.execute(
            "SELECT key, value FROM variables WHERE app_id = ? ORDER BY key", (app_id,)
        ).fetchall()
    return schemas.VariableList(
        variables=[schemas.Variable(key=r["key"], value=r["value"], secret=False) for r in rows]
    )


def put(
    store: Store,
    who: Principal,
    project_id: str,
    app_id: str,
    *,
    key: str,
    body: schemas.PutVariableBody,
) -> schemas.VariableSet:
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        _check_key(key)
        if body.secret:
            raise bad_request(
                "Secret values are not enabled; set secret to false.", "secret_disabled"
            )
        old = db.execute(
            "SELECT value FROM variables WHERE app_id = ? AND key = ?", (app_id, key)
        ).fetchone()
        db.execute(
            "INSERT INTO variables VALUES (?, ?, ?)"
            " ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value",
            (app_id, key, body.value),
        )
        if old is None or old["value"] != body.value:
            logs.record(db, store, app_id, f"env var {key} set")
    return schemas.VariableSet(key=key, secret=False)


def delete(
    store: Store, who: Principal, project_id: str, app_id: str, key: str
) -> schemas.VariableDeleted:
    with store.transaction() as db:
        store.find_app(db, who, project_id, app_id)
        _check_key(key)
        gone = db.execute("DELETE FROM variables WHERE app_id = ? AND key = ?", (app_id, key))
        if gone.rowcount == 0:
            raise not_found(f"Variable {key} is not set on app {app_id}.", "variable_not_found")
        logs.record(db, store, app_id, f"env var {key} deleted")
    return schemas.VariableDeleted(key=key, deleted=True)


def _check_key(key: str) -> None:
    if not KEY.fullmatch(key):
        raise bad_request(
            f"{quoted(key)} is not a valid variable name: start with a letter or _, then letters,"
            " digits or _.",
            "invalid_variable_key",
        )
