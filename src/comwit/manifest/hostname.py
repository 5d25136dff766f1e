"""Hostnames in the manifest: RFC 1123 names, lower-cased, unicode turned into IDNA A-labels."""

from __future__ import annotations

import re

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_MAX_LENGTH = 253


def normalize_hostname(name: str) -> str:
    """The canonical form of `name`, or ValueError saying what is wrong and what to do."""
    text = name.strip()
    if text != name:
        raise ValueError(f"hostname {name!r} has surrounding spaces; remove them")
    if not text:
        raise ValueError("hostname is empty")
    if "*" in text:
        raise ValueError(f"wildcard hostname {name!r} is not supported; list each hostname")
    if "://" in text or "/" in text or ":" in text:
        raise ValueError(f"{name!r} is not a hostname; write only the name, e.g. 'www.example.com'")
    if text.endswith("."):
        raise ValueError(f"hostname {name!r} ends with a dot; remove it")
    ascii_name = _to_ascii(text)
    labels = ascii_name.split(".")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise ValueError(f"hostname {name!r} has an invalid label {label!r}: {_why(label)}")
    if len(labels) < 2:
        raise ValueError(f"hostname {name!r} needs a domain, e.g. '{text}.example.com'")
    if len(ascii_name) > _MAX_LENGTH:
        raise ValueError(f"hostname {name!r} is longer than {_MAX_LENGTH} characters")
    if labels[-1].isdigit():
        raise ValueError(f"{name!r} looks like an IP address; use a hostname")
    return ascii_name


def _to_ascii(text: str) -> str:
    if text.isascii():
        return text.lower()
    import idna  # only a non-ASCII name needs its tables (a tenth of a `validate`'s imports)

    try:
        return idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"hostname {text!r} is not a valid internationalized name: {exc}") from exc


def _why(label: str) -> str:
    if not label:
        return "labels cannot be empty (two dots in a row)"
    if len(label) > 63:
        return "labels are at most 63 characters"
    if label.startswith("-") or label.endswith("-"):
        return "labels cannot start or end with '-'"
    return "use only letters, digits and '-'"
