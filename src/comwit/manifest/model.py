"""The shape of comwit.toml: pydantic models that validate a parsed (and overlaid) document.

Strict: no type coercion ("1" is not 1), unknown keys are errors. The JSON Schema printed by
`comwit schema` is generated from these models, so editors check what comwit checks.
"""

import re
from typing import Annotated, Any, Literal, Self

# Bounds are pydantic's own constraint metadata (annotated_types' Gt, Le): the same checks
# and error types as Field(gt=, le=), without a FieldInfo made and merged for each use.
from annotated_types import Gt, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from comwit.api.assumed import APP_NAME
from comwit.escape import quoted
from comwit.manifest.hostname import normalize_hostname, normalize_preview_domain
from comwit.manifest.interpolate import check_template
from comwit.plan import LEDGER_ENV_KEY

ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_env_key(key: str) -> str:
    if not ENV_KEY.fullmatch(key):
        raise ValueError(
            f"env key {quoted(key)} is invalid: start with a letter or '_', "
            "then use only letters, digits and '_'"
        )
    if key == LEDGER_ENV_KEY:
        raise ValueError(f"env key {quoted(key)} is reserved for comwit's state ledger; rename it")
    return key


def _check_env_value(value: str) -> str:
    check_template(value)
    return value


def _check_app_name(name: str) -> str:
    if not APP_NAME.fullmatch(name):
        raise ValueError(
            f"app name {quoted(name)} is invalid: use 1-63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return name


def _integer_only(value: object) -> object:
    """`true` and `1.0` are not the integer 1: Literal[1] would take them (True == 1 == 1.0)."""
    if isinstance(value, bool | float):
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": "1"})
    return value


def _host_from_string(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


def _check_pattern(pattern: str) -> str:
    if not pattern.strip():
        raise ValueError("exclude pattern is empty; remove it")
    return pattern


EnvKey = Annotated[str, AfterValidator(_check_env_key)]
EnvValue = Annotated[str, AfterValidator(_check_env_value)]
AppName = Annotated[str, AfterValidator(_check_app_name)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
# env_ref goes into the deploy's query string: one far past any reference ("brrrd/env/app")
# passed validate and plan, then failed the apply after its app was created.
MAX_ENV_REF = 1024
EnvRef = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ENV_REF)]
Pattern = Annotated[str, AfterValidator(_check_pattern)]
Hostname = Annotated[str, AfterValidator(normalize_hostname)]
PreviewDomain = Annotated[str, AfterValidator(normalize_preview_domain)]
DnsMode = Literal["external", "managed"]


# Every model's config. A shared base class carrying it would be one more model that pydantic
# builds (a schema, a validator and a serializer) on every load, used by nothing.
_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)


class HostSpec(BaseModel):
    """A hostname bound to an app, with how its DNS records get published."""

    model_config = _STRICT

    name: Hostname = Field(description="The hostname, e.g. 'www.example.com'.")
    dns: DnsMode = Field(
        "external",
        description="'external': you publish the DNS records comwit prints; "
        "'managed': Comwit writes them into a project domain it manages.",
    )


HostEntry = Annotated[
    HostSpec, BeforeValidator(_host_from_string, json_schema_input_type=str | HostSpec)
]


class AppSettings(BaseModel):
    """Settings an app can take from [defaults]."""

    model_config = _STRICT

    env_ref: EnvRef | None = Field(None, description="Runtime environment reference.")
    max_concurrent_requests: Annotated[int, Gt(0), Le(1_000_000)] | None = Field(
        None, description="Runtime concurrency cap (a positive integer)."
    )
    exclude: list[Pattern] | None = Field(
        None, description="Gitignore-style patterns left out of the artifact."
    )
    protect: bool | None = Field(
        None, description="Never detach hostnames or delete env vars without an explicit flag."
    )
    env: dict[EnvKey, EnvValue] | None = Field(
        None, description="Plain env vars; ${VAR} is taken from the environment at plan time."
    )


class AppOverlay(AppSettings):
    """An app as an environment overlay may change it: every key optional."""

    build_dir: NonEmpty | None = Field(
        None, description="The built directory to deploy, relative to the manifest."
    )
    build: NonEmpty | None = Field(None, description="An existing build id to pin (a rollback).")
    allow_outside_repo: bool | None = Field(
        None,
        description="Let build_dir lie outside the repository (its git root, else the "
        "manifest's directory); refused otherwise.",
    )
    hosts: list[HostEntry] | None = Field(
        None, description="Hostnames: strings, or tables { name, dns }."
    )


class AppSpec(AppOverlay):
    """An app named in [apps.NAME]."""

    preview: bool | None = Field(
        None,
        description="Give this app a preview per pull request (`comwit preview up`). When any "
        "app sets it true, only those get previews; false leaves an app out.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.build_dir is None and self.build is None:
            raise ValueError(
                "set either 'build_dir' (a directory to deploy) or 'build' (a build id to pin)"
            )
        if self.build_dir is not None and self.build is not None:
            raise ValueError("set only one of 'build_dir' and 'build', not both")
        return self


_DURATION = re.compile(r"[1-9][0-9]{0,5}[smhdw]")


def _check_duration(text: str) -> str:
    if not _DURATION.fullmatch(text):
        raise ValueError(
            f"duration {quoted(text)} is invalid: write a number and a unit, e.g. '7d', '12h', '2w'"
        )
    return text


Duration = Annotated[str, AfterValidator(_check_duration)]


class PreviewSpec(BaseModel):
    """[preview]: how `comwit preview up --pr N` turns the apps into preview apps."""

    model_config = _STRICT

    env: dict[EnvKey, EnvValue] | None = Field(
        None,
        description="Env vars set on every preview over the app's own; '{pr}' becomes the "
        "pull request number.",
    )
    env_ref: EnvRef | None = Field(None, description="Runtime environment reference.")
    max_concurrent_requests: Annotated[int, Gt(0), Le(1_000_000)] | None = Field(
        None, description="Runtime concurrency cap of previews."
    )
    domain: PreviewDomain | None = Field(
        None,
        description="Give each preview the hostname {app}-pr-{N}.{domain}; without it, a "
        "preview has only the API's default URL. Production hostnames are never bound.",
    )
    dns: DnsMode = Field("external", description="How the preview hostnames' DNS is published.")
    max_apps: Annotated[int, Gt(0), Le(10_000)] = Field(
        20, description="At most this many preview apps in the project."
    )
    older_than: Duration = Field(
        "7d", description="`comwit preview prune` deletes previews not deployed for this long."
    )


class StateSpec(BaseModel):
    """Where comwit records what content each build holds (the ledger)."""

    model_config = _STRICT

    backend: Literal["app-env", "local"] = Field(
        "app-env",
        description="'app-env': in an env var of each app, shared by every CI run; "
        "'local': in a JSON file.",
    )
    path: NonEmpty | None = Field(
        None, description="For backend 'local': the file, relative to the manifest."
    )
    keep: Annotated[int, Gt(0), Le(500)] = Field(
        50, description="How many builds per app the ledger remembers."
    )

    @model_validator(mode="after")
    def _path_only_when_local(self) -> Self:
        if self.path is not None and self.backend != "local":
            raise ValueError("'path' applies only to backend = \"local\"; remove it")
        return self


class StateOverlay(BaseModel):
    model_config = _STRICT

    backend: Literal["app-env", "local"] | None = None
    path: NonEmpty | None = None
    keep: Annotated[int, Gt(0), Le(500)] | None = None


class EnvironmentOverlay(BaseModel):
    """[environments.NAME]: merged over the top level when selected with --env NAME."""

    model_config = _STRICT

    project: NonEmpty | None = None
    defaults: AppSettings | None = None
    apps: dict[AppName, AppOverlay] | None = None
    state: StateOverlay | None = None


class Manifest(BaseModel):
    """comwit.toml."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        title="comwit.toml",
        json_schema_extra={"$id": "https://comwit.dev/schema/comwit.toml.json"},
    )

    version: Annotated[Literal[1], BeforeValidator(_integer_only)] = Field(
        description="The manifest format version: 1."
    )
    project: NonEmpty | None = Field(
        None, description="The Comwit project id (or --project / COMWIT_PROJECT)."
    )
    defaults: AppSettings = Field(
        default_factory=AppSettings, description="Settings shared by every app."
    )
    apps: Annotated[dict[AppName, AppSpec], Field(min_length=1)] = Field(
        description="The apps comwit manages, keyed by their name in Comwit."
    )
    state: StateSpec = Field(default_factory=StateSpec, description="The state ledger.")
    preview: PreviewSpec = Field(
        default_factory=PreviewSpec, description="Preview apps per pull request."
    )
    environments: dict[NonEmpty, EnvironmentOverlay] = Field(
        default_factory=dict, description="Overlays selected with --env NAME."
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of comwit.toml (draft 2020-12), for editors and `comwit schema`."""
    schema = Manifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
