"""Scenarios as data: a YAML file that becomes a :class:`kfchaos.scenario.Scenario`.

A scenario file is checked completely when it is loaded, the way profiles are: an unknown
key, a value of the wrong type, an unknown contract, capability, tag, fault, Flink job
variant or placeholder is one ``ScenarioFileError`` line (a ``ValueError``) naming the file
and the field. Its steps do what a Python scenario's do: create a topic (or deploy the
reference Flink job, whose input topic the workload writes), run one recorded workload with
the fault schedule, and for a Flink scenario drain, record the job's figures and read its
output.

The format (every key but ``name``, ``doc`` and ``contracts`` is optional)::

    name: kill-leader-yaml            # lower-case letters, digits and '-'
    doc: |                            # first line: the title; the rest: contracts, fault, expectation
      Partition leader killed (SIGKILL) under acks=all load.
      ...
    contracts: [durability, ordering, offset-continuity, recovery]
    requires: [partition-leader]      # capabilities it cannot run without (else: not applicable)
    only_with: []                     # left out of a full certification without these
    tags: [fault]                     # pytest markers: fault, flink
    topic:                            # the workload's topic (not with flink: the job's input topic)
      suffix: in
      partitions: 6
      replication_factor: 3
      config: {min.insync.replicas: 2}
    workload:                         # WorkloadSpec; unset: the profile's workload:, else as there
      duration: 35                    # seconds the producers run
      rate: 200                       # sends per second, all producers together (max: unthrottled)
      producers: 2
      consumers: 1                    # members of the consumer group reading live (0: none)
      keys: 24
      record_bytes: 0                 # value size in bytes (0: the harness's own, about 60)
      final_read_page_records: 100000 # records per page op of the final read
      commit_interval: 1.0
      quiet: 3.0                      # seconds after heal, before the final read
      proxied: false                  # clients through the client-<zone> Toxiproxy
      isolation: read_committed       # or read_uncommitted
      transactional: false            # true needs a workload with transactional producers
    faults:                           # the entries of schedule.json; overlapping entries overlap
      - {fault: kill, target: "leader:{topic}:0", start: 8, duration: 15}
    flink:                            # deploy the reference Flink job (input topic = {topic})
      variant: good                   # kfchaos.flink.lifecycle.VARIANTS
      wait_checkpoints: 0             # completed checkpoints to wait for before the workload
      drain_timeout: 150              # seconds to wait for the output to catch up
      job_recovery: true              # record the job's recovery figure
      checkpoint_figures: true        # record checkpoint counts

Placeholders, in a fault's ``target`` and in any text inside its ``params``, are replaced
when the steps run:

- ``{topic}``: the workload's topic (with ``flink``: the job's input topic);
- ``{output_topic}``: the Flink job's output topic (only with ``flink``);
- ``{zone:first}``, ``{zone:last}``, ``{zone:N}`` (N counted from 0): a zone of the platform;
- ``{zone:leader}``: the zone whose broker leads partition 0 of ``{topic}`` (asked once,
  before the workload starts).
"""
from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any, Callable

from kfchaos.faults.base import FaultSpec
from kfchaos.scenario import Scenario
from kfchaos.workload import MAX_RATE, WorkloadSpec, record_bytes_problem
from kfchaos.yamlfile import kind_of, read_yaml, walk_schema

__all__ = ["ScenarioFileError", "load_file", "from_dict", "check_scenario", "PLACEHOLDERS"]

MAX_BYTES = 256 * 1024
SAFE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
TAGS = ("fault", "flink")
PLACEHOLDERS = ("{topic}", "{output_topic}", "{zone:first}", "{zone:last}", "{zone:N}", "{zone:leader}")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

INT, NUMBER, BOOL, TEXT, LINE, NAMES, SETTINGS, LIST = (
    "an integer", "a number", "true or false", "text", "single-line text", "a list of names",
    "a mapping of settings", "a list")
RATE = "a number or `max`"

SCHEMA: dict[str, Any] = {
    "name": LINE, "doc": TEXT, "contracts": NAMES, "requires": NAMES, "only_with": NAMES, "tags": NAMES,
    "topic": {"suffix": LINE, "partitions": INT, "replication_factor": INT, "config": SETTINGS},
    "workload": {"duration": NUMBER, "rate": RATE, "producers": INT, "consumers": INT, "keys": INT,
                 "record_bytes": INT, "final_read_page_records": INT, "commit_interval": NUMBER, "quiet": NUMBER, "proxied": BOOL,
                 "isolation": LINE, "transactional": BOOL},
    "faults": LIST,
    "flink": {"variant": LINE, "wait_checkpoints": INT, "drain_timeout": NUMBER, "job_recovery": BOOL,
              "checkpoint_figures": BOOL},
}
REQUIRED = ("name", "doc", "contracts")

#: YAML workload key -> WorkloadSpec field
WORKLOAD_FIELDS = {"duration": "duration_s", "rate": "rate", "producers": "producers", "consumers": "consumers",
                   "keys": "keys", "record_bytes": "record_bytes",
                   "final_read_page_records": "final_read_page_records", "commit_interval": "commit_interval_s",
                   "quiet": "quiet_s",
                   "proxied": "proxied", "isolation": "isolation", "transactional": "transactional"}
ISOLATIONS = ("read_committed", "read_uncommitted")
FLINK_DEFAULTS = {"variant": "good", "wait_checkpoints": 0, "drain_timeout": 150.0, "job_recovery": True,
                  "checkpoint_figures": True}


class ScenarioFileError(ValueError):
    """A scenario file that cannot be used; the message is always one line."""

    def __init__(self, message: str):
        super().__init__(re.sub(r"\s*[\r\n]+\s*", " ", str(message)).strip())


# ---- known names -------------------------------------------------------------------------
def known_contracts() -> list[str]:
    from kfchaos.contracts import CONTRACTS
    return list(CONTRACTS)


def known_capabilities() -> list[str]:
    from kfchaos.platform.flavors import FEATURES
    from kfchaos.scenario import CONFIG_CAPABILITIES
    return [*FEATURES, *CONFIG_CAPABILITIES]


def known_variants() -> tuple[str, ...]:
    from kfchaos.flink.lifecycle import VARIANTS
    return tuple(VARIANTS)


def check_scenario(scenario: Scenario, src: str) -> None:
    """The checks every scenario gets, from a YAML file or a Python module: a safe name, a
    title, known contracts, capabilities and tags."""
    if not isinstance(scenario.name, str) or not SAFE_NAME.fullmatch(scenario.name):
        raise ScenarioFileError(f"{src}: `name` is {scenario.name!r}; use lower-case letters, digits and '-' "
                                "(at most 63), e.g. my-kill-leader")
    if not isinstance(scenario.doc, str) or not scenario.doc.strip():
        raise ScenarioFileError(f"{src}: `doc` is empty; give a title line, then the contracts, fault and "
                                "expected recovery")
    _names(src, "contracts", list(scenario.contracts), known_contracts(), "contract", empty_ok=False)
    _names(src, "requires", list(scenario.requires), known_capabilities(), "capability")
    _names(src, "only_with", list(scenario.only_with), known_capabilities(), "capability")
    _names(src, "tags", list(scenario.tags), TAGS, "tag")


def _names(src: str, key: str, values: list, known, what: str, empty_ok: bool = True) -> None:
    if not values and not empty_ok:
        raise ScenarioFileError(f"{src}: `{key}` is empty; list at least one {what} of: {', '.join(known)}")
    for i, v in enumerate(values):
        if v not in known:
            raise ScenarioFileError(f"{src}: `{key}[{i}]` is an unknown {what} {v!r}; "
                                    f"use one of: {', '.join(known)}")
    dup = sorted({v for v in values if values.count(v) > 1})
    if dup:
        raise ScenarioFileError(f"{src}: `{key}` lists {', '.join(dup)} twice; list each once")


# ---- shape -------------------------------------------------------------------------------
def _check_shape(data: Any, schema: dict, where: str, src: str) -> None:
    walk_schema(data, schema, where, src, ScenarioFileError, _check_value, "name, doc, contracts, workload, faults, ...")


def _check_value(value: Any, expected: str, path: str, src: str) -> None:
    def bad(fix: str) -> ScenarioFileError:
        return ScenarioFileError(f"{src}: `{path}` must be {expected}, got {kind_of(value)} {value!r}; {fix}")
    if expected == INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("write a whole number such as 3")
    elif expected == NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad("write a finite number such as 30 or 2.5")
    elif expected == RATE:
        if not (isinstance(value, str) and value.strip().lower() == MAX_RATE) and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
            raise bad(f"write sends per second such as 200, or `{MAX_RATE}` for as fast as possible")
    elif expected == BOOL:
        if not isinstance(value, bool):
            raise bad("write true or false")
    elif expected in (TEXT, LINE):
        if not isinstance(value, str):
            raise bad("quote it if YAML reads it as something else")
        if expected == LINE and ("\n" in value.strip() or not value.strip()):
            raise bad("write one non-empty line")
    elif expected == NAMES:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("write a list such as [durability, ordering]")
    elif expected == SETTINGS:
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in value.items()):
            raise bad("write `key: value` pairs with text, number or boolean values")
    elif expected == LIST:
        if not isinstance(value, list):
            raise bad("write a list of entries")


def _positive(src: str, path: str, value, minimum: float = 0, strict: bool = True) -> None:
    if value is not None and (value <= minimum if strict else value < minimum):
        op = ">" if strict else ">="
        raise ScenarioFileError(f"{src}: `{path}` is {value!r}; use a number {op} {minimum:g}")


# ---- placeholders ------------------------------------------------------------------------
def _placeholder_names(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


def _check_placeholders(src: str, where: str, value: Any, flink: bool) -> None:
    if isinstance(value, str):
        for name in _placeholder_names(value):
            if name in ("topic", "zone:first", "zone:last", "zone:leader") or re.fullmatch(r"zone:\d+", name):
                continue
            if name == "output_topic":
                if not flink:
                    raise ScenarioFileError(f"{src}: {where}: {{output_topic}} needs a `flink:` section; "
                                            "use {topic} for the workload's topic")
                continue
            raise ScenarioFileError(f"{src}: {where}: unknown placeholder {{{name}}}; "
                                    f"use one of {', '.join(PLACEHOLDERS)}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_placeholders(src, where, v, flink)
    elif isinstance(value, list):
        for v in value:
            _check_placeholders(src, where, v, flink)


def substitute(value: Any, values: dict[str, str]) -> Any:
    """``value`` with every placeholder replaced (recursively inside mappings and lists)."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    return value


def _uses(specs: list[FaultSpec], name: str) -> bool:
    token = "{" + name + "}"
    return any(token in repr((s.target, s.params)) for s in specs)


def placeholder_values(run, specs: list[FaultSpec], topic: str, output_topic: str | None, src: str = "<scenario>",
                       leader: Callable[[Any, str], str] | None = None) -> dict[str, str]:
    """The values of the placeholders ``specs`` use, for this run's platform and topics."""
    zones = list(getattr(run.platform, "zones", None) or ())
    values = {"topic": topic}
    if output_topic is not None:
        values["output_topic"] = output_topic
    if zones:
        values.update({"zone:first": zones[0], "zone:last": zones[-1]})
        values.update({f"zone:{i}": z for i, z in enumerate(zones)})
    for s in specs:
        for n in _placeholder_names(repr((s.target, s.params))):
            m = re.fullmatch(r"zone:(\d+)", n)
            if m and n not in values:
                raise ScenarioFileError(f"{src}: fault {s.label()}: {{{n}}} names zone {m.group(1)} but "
                                        f"the platform has {len(zones)} zones (counted from 0)")
    if _uses(specs, "zone:leader"):
        values["zone:leader"] = (leader or _leader_zone)(run.platform, topic)
    return values


def _leader_zone(platform, topic: str) -> str:
    from kfchaos.faults.targets import partition_leader, zone_of_node_id
    return zone_of_node_id(platform, partition_leader(platform, topic, 0))


# ---- the parsed file ---------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ScenarioData:
    """A checked scenario file; ``steps`` (a ``YamlSteps``) runs it."""
    source: str
    name: str
    doc: str
    contracts: tuple[str, ...]
    requires: tuple[str, ...]
    only_with: tuple[str, ...]
    tags: tuple[str, ...]
    topic: dict[str, Any]
    workload: WorkloadSpec
    faults: tuple[FaultSpec, ...]          # placeholders not yet replaced
    flink: dict[str, Any] | None


class YamlSteps:
    """The steps of a YAML scenario: what the Python scenarios' ``steps(run)`` functions do."""

    #: how a Flink pipeline is made (a test may replace it with a stand-in)
    pipeline_factory: Callable[[Any], Any] | None = None

    def __init__(self, data: ScenarioData):
        self.data = data
        self.source = data.source

    def __repr__(self) -> str:
        return f"YamlSteps({self.source})"

    def faults_for(self, run, topic: str, output_topic: str | None = None) -> list[FaultSpec]:
        """The schedule with placeholders replaced, checked against the platform's zones."""
        from kfchaos.faults.schedule import validate
        specs = list(self.data.faults)
        if not specs:
            return []
        values = placeholder_values(run, specs, topic, output_topic, self.source)
        out = [FaultSpec(s.fault, substitute(s.target, values), s.start, s.duration, substitute(s.params, values))
               for s in specs]
        zones = tuple(getattr(run.platform, "zones", None) or ()) or None
        validate(out, zones, source=self.source)
        return out

    def __call__(self, run) -> None:
        d = self.data
        if d.flink is None:
            topic = run.topic(**d.topic)
            run.workload(topic, dataclasses.replace(d.workload), faults=self.faults_for(run, topic))
            return
        factory = self.pipeline_factory or _flink_pipeline
        flink = factory(run)
        flink.deploy(d.flink["variant"])
        try:
            if d.flink["wait_checkpoints"]:
                flink.wait_checkpoints(d.flink["wait_checkpoints"], timeout=60)
            run.workload(flink.input_topic, dataclasses.replace(d.workload),
                         faults=self.faults_for(run, flink.input_topic, flink.output_topic))
            flink.drain(timeout=d.flink["drain_timeout"])
            if d.flink["job_recovery"]:
                flink.record_job_recovery()
            if d.flink["checkpoint_figures"]:
                flink.record_checkpoint_figures()
            flink.final_read_output()
        finally:
            flink.close()


def _flink_pipeline(run):
    from kfchaos.flink.pipeline import FlinkPipeline
    return FlinkPipeline(run)


def from_dict(data: Any, src: str = "<scenario>") -> Scenario:
    """A checked mapping (a parsed scenario file) as a Scenario."""
    parsed = parse(data, src)
    scenario = Scenario(parsed.name, parsed.doc, parsed.contracts, YamlSteps(parsed), requires=parsed.requires,
                        only_with=parsed.only_with, tags=parsed.tags)
    check_scenario(scenario, src)
    return scenario


def parse(data: Any, src: str = "<scenario>") -> ScenarioData:
    from kfchaos.faults.validation import ScheduleError, check_spec, parse_entry
    _check_shape(data, SCHEMA, "", src)
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ScenarioFileError(f"{src}: missing key(s) {', '.join(f'`{k}`' for k in missing)}; a scenario needs "
                                "at least name, doc (title line, then text) and contracts")
    flink = data.get("flink")
    if flink is not None:
        variant = flink.get("variant", FLINK_DEFAULTS["variant"])
        if variant not in known_variants():
            raise ScenarioFileError(f"{src}: `flink.variant` is an unknown job variant {variant!r}; "
                                    f"use one of: {', '.join(known_variants())}")
        _positive(src, "flink.wait_checkpoints", flink.get("wait_checkpoints"), 0, strict=False)
        _positive(src, "flink.drain_timeout", flink.get("drain_timeout"))
        if "topic" in data:
            raise ScenarioFileError(f"{src}: `topic` cannot be given with `flink`: the workload writes the job's "
                                    "input topic; remove `topic`")
        flink = {**FLINK_DEFAULTS, **flink}
    topic = dict(data.get("topic") or {})
    for key in ("partitions", "replication_factor"):
        _positive(src, f"topic.{key}", topic.get(key))
    if "config" in topic:
        topic["config"] = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in topic["config"].items()}
    workload = _workload(data.get("workload") or {}, src)
    faults = []
    for i, entry in enumerate(data.get("faults") or []):
        where = f"{src}: `faults[{i}]`"
        try:
            spec = parse_entry(where, entry)
        except ScheduleError as exc:
            raise ScenarioFileError(str(exc)) from None
        _check_placeholders(src, f"`faults[{i}]` ({spec.label()})", [spec.target, spec.params], flink is not None)
        probe = FaultSpec(spec.fault, substitute(spec.target, _PROBE), spec.start, spec.duration,
                          substitute(spec.params, _PROBE))
        try:
            check_spec(f"{where} ({spec.label()})", probe, None)
        except ScheduleError as exc:
            raise ScenarioFileError(str(exc)) from None
        faults.append(spec)
    return ScenarioData(source=src, name=data["name"].strip(), doc=data["doc"], contracts=tuple(data["contracts"]),
                        requires=tuple(data.get("requires") or ()), only_with=tuple(data.get("only_with") or ()),
                        tags=tuple(data.get("tags") or ()), topic=topic, workload=workload, faults=tuple(faults),
                        flink=flink)


#: sample values for checking a schedule before the platform is known: zone names are
#: checked for shape only, and each placeholder gets its own (the run checks them again)
_PROBE = {"topic": "topic", "output_topic": "topic-out", "zone:first": "zfirst", "zone:last": "zlast",
          "zone:leader": "zleader", **{f"zone:{i}": f"z{i}" for i in range(100)}}


def _workload(w: dict, src: str) -> WorkloadSpec:
    fields = {f.name for f in dataclasses.fields(WorkloadSpec)}
    kwargs: dict[str, Any] = {}
    for key, value in w.items():
        field = WORKLOAD_FIELDS[key]
        if field not in fields:
            if key == "transactional" and value is False:
                continue                   # the workload's producers are not transactional
            raise ScenarioFileError(f"{src}: `workload.{key}` is not supported by this version's workload "
                                    f"(WorkloadSpec has no `{field}`); remove it or set it to false")
        kwargs[field] = value
    for key in ("duration", "keys", "commit_interval", "final_read_page_records"):
        _positive(src, f"workload.{key}", w.get(key))
    if isinstance(w.get("rate"), (int, float)):
        _positive(src, "workload.rate", w["rate"], 0, strict=False)     # 0: unthrottled, as `max`
    if w.get("record_bytes") is not None and record_bytes_problem(w["record_bytes"]):
        raise ScenarioFileError(f"{src}: `workload.record_bytes` {record_bytes_problem(w['record_bytes'])}")
    for key in ("consumers", "quiet"):
        _positive(src, f"workload.{key}", w.get(key), 0, strict=False)
    _positive(src, "workload.producers", w.get("producers"), 1, strict=False)
    if w.get("isolation") is not None and w["isolation"] not in ISOLATIONS:
        raise ScenarioFileError(f"{src}: `workload.isolation` is {w['isolation']!r}; use one of: "
                                f"{', '.join(ISOLATIONS)}")
    return WorkloadSpec(**kwargs)


def load_file(path: str | Path) -> Scenario:
    """A YAML scenario file as a checked Scenario (ScenarioFileError: one line naming the file)."""
    src = str(path)
    data = read_yaml(path, ScenarioFileError, "scenario", MAX_BYTES)
    return from_dict(data, src)
