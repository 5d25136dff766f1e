"""Hostnames in the manifest: RFC 1123 names, lower-cased, unicode turned into IDNA A-labels."""

from __future__ import annotations

import re

from comwit.escape import quoted

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_MAX_LENGTH = 253
_MAX_LABEL = 63


def normalize_hostname(name: str) -> str:
    """The canonical form of `name`, or ValueError saying what is wrong and what to do."""
    text = name.strip()
    if text != name:
        raise ValueError(f"hostname {quoted(name)} has surrounding spaces; remove them")
    if not text:
        raise ValueError("hostname is empty")
    if "*" in text:
        raise ValueError(f"wildcard hostname {quoted(name)} is not supported; list each hostname")
    if "://" in text or "/" in text or ":" in text:
        raise ValueError(
            f"{quoted(name)} is not a hostname; write only the name, e.g. 'www.example.com'"
        )
    if text.endswith("."):
        raise ValueError(f"hostname {quoted(name)} ends with a dot; remove it")
    ascii_name = _to_ascii(text)
    labels = ascii_name.split(".")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise ValueError(
                f"hostname {quoted(name)} has an invalid label {quoted(label)}: {_why(label)}"
            )
    if len(labels) < 2:
        example = quoted(f"{text}.example.com")
        raise ValueError(f"hostname {quoted(name)} needs a domain, e.g. {example}")
    if len(ascii_name) > _MAX_LENGTH:
        raise ValueError(f"hostname {quoted(name)} is longer than {_MAX_LENGTH} characters")
    if labels[-1].isdigit():
        raise ValueError(f"{quoted(name)} looks like an IP address; use a hostname")
    return ascii_name


def _to_ascii(text: str) -> str:
    if text.isascii():
        return text.lower()
    import idna  # only a non-ASCII name needs its tables (a tenth of a `validate`'s imports)

    try:
        return idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(
            f"hostname {quoted(text)} is not a valid internationalized name: {exc}"
        ) from exc


def _why(label: str) -> str:
    if not label:
        return "labels cannot be empty (two dots in a row)"
    if len(label) > 63:
        return "labels are at most 63 characters"
    if label.startswith("-") or label.endswith("-"):
        return "labels cannot start or end with '-'"
    return "use only letters, digits and '-'"


def normalize_preview_domain(name: str) -> str:
    """A [preview] domain: a hostname with room left for any preview's own label before it
    (`{app}-pr-{N}.`, at most 63 characters), or every preview up would fail its attach."""
    domain = normalize_hostname(name)
    most = _MAX_LENGTH - _MAX_LABEL - 1
    if len(domain) > most:
        raise ValueError(
            f"preview domain {quoted(name)} is longer than {most} characters: the hostnames "
            f"{{app}}-pr-{{N}}.{{domain}} would pass the {_MAX_LENGTH} a hostname may have; "
            "choose a shorter domain"
        )
    return domain
