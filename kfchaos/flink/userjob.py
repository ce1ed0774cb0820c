"""A team's own Flink job, named by the profile's ``job:`` section, run instead of the reference job.

The harness does not know the job's logic. It knows where the jar is (a path, relative to
the profile's folder, or Maven coordinates resolved with Maven into the cache), how to
start it (entry class, an argument template, parallelism), the input format it writes
(a JSON template plus the names of the id and key fields) and the output contract it
checks (see :mod:`kfchaos.checkers.output_contract`)::

    job:
      jar: jobs/orders-enrich-1.0.jar          # or  maven: org.example:orders-enrich:1.0.0
      next_jar: jobs/orders-enrich-1.1.jar     # the release to move to (bad-deploy rehearsal)
      entry_class: org.example.enrich.EnrichJob
      args: [--brokers, "{bootstrap}", --orders, "{input_topic}", --enriched, "{output_topic}",
             --group, "{group}", --txn-prefix, "{txn_prefix}"]
      input: {id_field: orderId, key_field: customer, template: {amount: 42}}
      output: {contract: exactly-once-by-id, id_field: orderId}

Argument template fields: see :data:`FIELDS`.  Every problem is one ``ProfileError`` line.
"""
from __future__ import annotations

import json
import logging
import os
import re
import string
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kfchaos.checkers.output_contract import BUILT_IN, OutputContractError, resolve
from kfchaos.profiles.schema import ProfileError, fail

from .lifecycle import Release

log = logging.getLogger("chaos.flink-job")

FIELDS = ("bootstrap", "input_topic", "output_topic", "group", "txn_prefix", "checkpoint_interval_ms",
          "job_name")
COORDS = re.compile(r"[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.+-]+")
CLASS_NAME = re.compile(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*")
MAVEN_TIMEOUT_S = 600


@dataclass
class UserJob:
    entry_class: str
    args: tuple[str, ...]
    jar: Path | None = None
    maven: str | None = None
    next_jar: Path | None = None
    next_maven: str | None = None
    parallelism: int | None = None
    id_field: str = "id"
    key_field: str = "key"
    template: dict = field(default_factory=dict)
    output: dict = field(default_factory=lambda: {"contract": "exactly-once-by-id"})

    @property
    def has_next(self) -> bool:
        return self.next_jar is not None or self.next_maven is not None

    def releases(self) -> dict[str, Release]:
        """``good`` (the job in production) and, when given, ``next`` (the release to move to)."""
        out = {"good": Release(resolve_jar(self.jar, self.maven), self.entry_class, self.args)}
        if self.has_next:
            out["next"] = Release(resolve_jar(self.next_jar, self.next_maven), self.entry_class, self.args)
        return out

    def encode(self, rid: str, key: str, seq: int, producer: str) -> bytes:
        """An input message in the job's format: the template with the id and key fields set."""
        value = {**self.template, self.id_field: rid, self.key_field: key}
        return json.dumps(value, separators=(",", ":")).encode("utf-8")

    def check_options(self) -> dict[str, Any]:
        """The output contract as exactly-once checker options."""
        return {"output_" + k if k == "contract" else k: v for k, v in self.output.items()}


def from_dict(data: Any, src: str, base: Path | None) -> UserJob:
    """Check the profile's ``job:`` section (its shape is ``JOB`` in :mod:`kfchaos.profiles.schema`)
    and build the UserJob."""
    def path_of(key: str) -> Path | None:
        if key not in data:
            return None
        p = Path(os.path.expanduser(data[key]))
        p = p if p.is_absolute() else (base or Path.cwd()) / p
        if not p.is_file():
            raise fail(src, f"job.{key}", f"is {data[key]!r}, no such file", "give the path of the job's jar "
                       "(relative to the profile's folder) or Maven coordinates under `maven`")
        return p
    for a, b in (("jar", "maven"), ("next_jar", "next_maven")):
        if a in data and b in data:
            raise fail(src, f"job.{a}", f"and `job.{b}` are both given", "keep one of them")
        if b in data and not COORDS.fullmatch(data[b]):
            raise fail(src, f"job.{b}", f"is {data[b]!r}", "write Maven coordinates as group:artifact:version")
    if "jar" not in data and "maven" not in data:
        raise fail(src, "job", "names no jar", "add `jar: path/to/job.jar` or `maven: group:artifact:version`")
    entry = data.get("entry_class")
    if not entry or not CLASS_NAME.fullmatch(entry):
        raise fail(src, "job.entry_class", f"is {entry!r}", "give the job's main class, e.g. org.example.MyJob")
    for i, arg in enumerate(data.get("args", [])):
        _check_template(arg, f"job.args[{i}]", src)
    if data.get("parallelism", 1) < 1:
        raise fail(src, "job.parallelism", f"is {data['parallelism']}", "use 1 or more")
    output = {"contract": "exactly-once-by-id", **data.get("output", {})}
    _check_output(output, src)
    inp = data.get("input", {})
    return UserJob(entry_class=entry, args=tuple(data.get("args", [])), jar=path_of("jar"), maven=data.get("maven"),
                   next_jar=path_of("next_jar"), next_maven=data.get("next_maven"),
                   parallelism=data.get("parallelism"), id_field=inp.get("id_field", "id"),
                   key_field=inp.get("key_field", "key"), template=dict(inp.get("template", {})), output=output)


def _check_template(arg: str, where: str, src: str) -> None:
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(arg) if f is not None]
    except ValueError as e:
        raise fail(src, where, f"is {arg!r} ({e})", "write literal braces as {{ and }}") from e
    for n in names:
        if n not in FIELDS:
            raise fail(src, where, f"uses {{{n}}}", f"use one of {', '.join('{' + x + '}' for x in FIELDS)}")


def _check_output(output: dict, src: str) -> None:
    contract = output["contract"]
    try:
        resolve(contract)
    except OutputContractError as e:
        raise fail(src, "job.output.contract", str(e).split(";")[0], f"use {' or '.join(BUILT_IN)}, "
                   "`module:function` or an installed entry point") from e
    if contract == "per-key-sequence" and "sequence_field" not in output:
        raise fail(src, "job.output.sequence_field", "is missing", "name the output field that counts up per key")
    if "id_field" in output and "id_header" in output:
        raise fail(src, "job.output.id_field", "and `job.output.id_header` are both given", "keep one of them")


def _cache_root() -> Path:
    return Path(os.environ.get("CHAOS_CACHE_DIR") or Path.home() / ".cache" / "kafka-chaos")


def resolve_jar(path: Path | None, coords: str | None,
                run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> Path:
    """The jar at ``path``, or the artifact ``coords`` copied by Maven into the cache (the local
    repository first, then the remote ones Maven is configured with)."""
    if path is not None:
        return path
    g, a, v = coords.split(":")
    dest = _cache_root() / "user-jars" / g / a / v
    jar = dest / f"{a}-{v}.jar"
    if jar.is_file():
        return jar
    dest.mkdir(parents=True, exist_ok=True)
    log.info("resolving %s with Maven ...", coords)
    proc = run(["mvn", "-q", "-B", "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
                f"-Dartifact={g}:{a}:{v}:jar", f"-DoutputDirectory={dest}", "-Dmdep.overWriteReleases=true"],
               capture_output=True, text=True, timeout=MAVEN_TIMEOUT_S, cwd=dest)
    if proc.returncode != 0 or not jar.is_file():
        err = next((ln for ln in (proc.stdout + proc.stderr).splitlines() if "ERROR" in ln), "no jar copied")
        raise ProfileError(f"job jar {coords} cannot be resolved with Maven: {err.strip()[:300]}; "
                           "check the coordinates and that the repository holding it is in ~/.m2/settings.xml")
    return jar
