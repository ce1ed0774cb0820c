"""Masks credentials in any text the harness writes or raises: logs, error messages,
results, reports.

One process-wide ``Redactor`` knows the secret values registered at run time (S3 keys,
SASL passwords, the values of environment variables a profile names) and also masks
what looks like a credential whatever its value: ``password=...``, ``secret...: ...``,
``sasl.jaas.config=...``, passwords in URLs and AWS-style keys.
"""
from __future__ import annotations

import os
import re
import threading
from typing import Any, Iterable

MASK = "***"
MIN_SECRET_LENGTH = 4          # shorter values would mask ordinary words and numbers

_KEY = r"[\w.-]*(?:password|passwd|secret|credential|api[_-]?key|private[_-]?key)[\w.-]*"
_VALUE = r"(?:\"[^\"\n]*\"|'[^'\n]*'|\[[^\]\n]*\]|[^\s,;&\"'}\]]+)"
# key = value, key: value, "key": "value" (the value up to a blank, comma or quote)
_ASSIGNMENT = re.compile(rf"(?i)(\b{_KEY}[\"']?\s*[=:]\s*)({_VALUE})")
# a JAAS line holds user names and passwords with blanks in between: mask to the line end
_JAAS = re.compile(r"(?i)(sasl\.jaas\.config[\"']?\s*[=:]\s*)([^\n]+)")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)([^\s@/]+)(@)")
_AWS_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16}\b")
_AWS_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_NOT_SECRET = {"", "null", "none", "[hidden]", MASK, '""', "''"}


def _mask_assignment(m: re.Match) -> str:
    value = m.group(2)
    return m.group(0) if value.lower() in _NOT_SECRET else m.group(1) + MASK


def _mask_aws_secret(m: re.Match) -> str:
    """40 characters of base64 mixing cases and digits; a hex digest (one case) stays."""
    s = m.group(0)
    mixed = any(c.islower() for c in s) and any(c.isupper() for c in s) and any(c.isdigit() for c in s)
    return MASK if mixed else s


class Redactor:
    """Registered secret values plus credential patterns; thread-safe."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def register(self, value: object) -> None:
        text = "" if value is None else str(value)
        if len(text) >= MIN_SECRET_LENGTH and text != MASK:
            with self._lock:
                self._secrets.add(text)

    def register_env(self, names: Iterable[str]) -> None:
        """Register the values of these environment variables (those that are set)."""
        for name in names:
            self.register(os.environ.get(name))

    def forget_all(self) -> None:
        with self._lock:
            self._secrets.clear()

    def redact(self, text: str) -> str:
        if not text:
            return text
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)   # longest first: no partial leftovers
        for secret in secrets:
            text = text.replace(secret, MASK)
        text = _JAAS.sub(lambda m: m.group(1) + MASK, text)
        text = _ASSIGNMENT.sub(_mask_assignment, text)
        text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
        text = _AWS_ACCESS_KEY.sub(MASK, text)
        return _AWS_SECRET_KEY.sub(_mask_aws_secret, text)


_default = Redactor()


def redactor() -> Redactor:
    """The process-wide redactor."""
    return _default


def redact(text: str) -> str:
    """``text`` with every registered secret and credential-looking value masked."""
    return _default.redact(text)


def register_secret(value: object) -> None:
    _default.register(value)


def register_env(names: Iterable[str]) -> None:
    _default.register_env(names)


def is_secret_key(key: str) -> bool:
    """Whether a config key (e.g. ``sasl.password``, ``ssl.key.password``) holds a credential."""
    return re.fullmatch(rf"(?i){_KEY}|sasl\.jaas\.config", key) is not None


def redact_data(obj: Any) -> Any:
    """A copy of JSON-like data with every string redacted and the value of every
    secret-looking key masked: structure (and JSON validity) is kept, unlike redacting
    the serialised text, where a pattern can swallow a closing quote."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: ("***" if isinstance(k, str) and is_secret_key(k) and v not in (None, "")
                    else redact_data(v)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_data(x) for x in obj]
    return obj
