"""Reading a user's YAML file (a profile, a target, a scenario) safely, with one-line errors.

Every error names the file and says how to fix it: unreadable, too large, binary, not
UTF-8, not YAML (with line and column), nested too deeply. The caller chooses the error
class (``ProfileError``, ``TargetError``, ...) and the word for the file in messages.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Callable

import yaml

MAX_BYTES = 256 * 1024


def read_yaml(path: str | Path, error: type[Exception], what: str = "file", max_bytes: int = MAX_BYTES) -> Any:
    """The parsed document of ``path`` (``{}`` for an empty one), or ``error`` with one line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc}); check the path and its permissions") from None
    if len(raw) > max_bytes:
        raise error(f"{path}: is {len(raw)} bytes, too large for a {what}; keep it under {max_bytes // 1024} KiB")
    if b"\0" in raw:
        raise error(f"{path}: is a binary file, not UTF-8 YAML text; give a .yaml text file saved as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: is not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start}); "
                    "save the file as UTF-8") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = "; ".join(filter(None, (exc.context, exc.problem)))
        raise error(f"{path}: not valid YAML: {problem}{where}; fix the syntax there") from None
    except RecursionError:
        raise error(f"{path}: not valid YAML: nested too deeply; a {what} needs a few levels only") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({type(exc).__name__}); fix the syntax") from None
    return {} if doc is None else doc


def kind_of(value: Any) -> str:
    """A value's kind in words, for error messages."""
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", type(None): "empty"}.get(
        type(value), type(value).__name__)


def walk_schema(data: Any, schema: dict, where: str, src: str, error: type[Exception],
                check_value: Callable[[Any, Any, str, str], None], top_keys: str) -> None:
    """Check ``data`` against a nested ``schema`` (key -> sub-schema dict, or a leaf type that
    ``check_value(value, expected, path, src)`` checks): every level a mapping, no unknown key
    (with the close match). ``top_keys`` names the top-level keys for the hint."""
    if not isinstance(data, dict):
        what = f"`{where}`" if where else "the document"
        raise error(f"{src}: {what} must be a mapping of keys, got {kind_of(data)}; write `key: value` "
                    f"lines{' under it' if where else f' ({top_keys})'}")
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1, cutoff=0.6)
            fix = f"did you mean `{close[0]}`?" if close else "remove it"
            raise error(f"{src}: unknown key `{path}`; {fix} (allowed here: {', '.join(map(str, schema))})")
        expected = schema[key]
        if isinstance(expected, dict):
            walk_schema(value, expected, path, src, error, check_value, top_keys)
        else:
            check_value(value, expected, path, src)
