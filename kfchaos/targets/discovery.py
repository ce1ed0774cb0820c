"""Discovery and the health gate of an external target.

Discovery asks the cluster what the file says: broker ids and racks from the admin API,
TaskManagers from Flink REST, the bucket from the object store, each Toxiproxy's API and
each node's actuator. Any disagreement stops the run with one ``DiscoveryError`` line
(a broker of the file missing from the cluster, a Flink URL that is not Flink, an
unreachable bootstrap address, a rejected SASL password). The health gate then requires
a cluster at rest: every broker listed, no under-replicated partition, free Flink slots.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import requests

from .schema import Target

log = logging.getLogger("chaos.targets")


class DiscoveryError(RuntimeError):
    """The target file and the running platform disagree; one line: what and how to fix it."""


@dataclass
class Discovered:
    brokers: dict[int, tuple[str, int, str | None]] = field(default_factory=dict)   # id -> host, port, rack
    zone_ids: dict[str, int] = field(default_factory=dict)                          # zone -> broker id
    controller: int | None = None
    flink_version: str | None = None
    taskmanagers: list[dict] = field(default_factory=list)
    slots_available: int = 0
    toxiproxy_versions: dict[str, str] = field(default_factory=dict)


def describe_cluster(target: Target, settings: dict, timeout: float = 15.0):
    """DescribeCluster through the bootstrap servers; auth and reachability errors as one line."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    errors: list[str] = []
    lock = threading.Lock()

    def on_error(err) -> None:
        with lock:
            errors.append(f"{err.name()}: {err.str()}")
    admin = AdminClient({**settings, "error_cb": on_error, "logger": _quiet_logger()})
    sec = target.kafka.security
    try:
        fut = admin.describe_cluster(request_timeout=timeout)
        deadline = time.monotonic() + timeout + 5
        while not fut.done() and time.monotonic() < deadline:
            admin.poll(0.2)             # serves error_cb, where a rejected SASL login is reported
            if any("AUTHENTICATION" in e.upper() for e in errors):
                break
        return fut.result(timeout=1)
    except (KafkaException, TimeoutError, Exception) as exc:
        fallback = errors[0] if errors else str(exc)

        def first(*words: str) -> str:
            hit = next((e for e in errors if any(w in e.upper() for w in words)), fallback)
            return " ".join(hit.split())[:200]
        seen = first()
        if any("AUTHENTICATION" in e.upper() or "SASL" in e.upper() for e in errors):
            seen = first("AUTHENTICATION", "SASL")
            who = f"user from ${sec.username_env} with {sec.sasl_mechanism}" if sec.username_env else "this client"
            raise DiscoveryError(f"kafka: the cluster rejected {who} ({seen}); check the credentials in "
                                 f"${sec.password_env or sec.username_env} and kafka.security") from None
        if any("SSL" in e.upper() for e in errors):
            seen = first("SSL")
            files = "ca_file, and cert_file/key_file (a client certificate the brokers trust)" if sec.cert_file \
                else "ca_file"
            raise DiscoveryError(f"kafka: TLS handshake with {target.kafka.bootstrap_servers} failed ({seen}); "
                                 f"check kafka.security.protocol and {files}") from None
        raise DiscoveryError(f"kafka.bootstrap_servers: no broker answered at {target.kafka.bootstrap_servers} "
                             f"within {timeout:.0f}s ({seen}); check the host and port, and that the "
                             "brokers listen there") from None


def _quiet_logger() -> logging.Logger:
    """librdkafka's log of the discovery client: its failures come back through error_cb and
    become the one DiscoveryError line, so they are logged only with --debug."""
    from kfchaos.platform.kafka_config import RDKAFKA_LOGGER
    quiet = logging.getLogger(f"{RDKAFKA_LOGGER.name}.discovery")
    quiet.setLevel(logging.DEBUG if logging.getLogger().isEnabledFor(logging.DEBUG) else logging.CRITICAL)
    return quiet


def discover_kafka(target: Target, settings: dict, found: Discovered) -> None:
    desc = describe_cluster(target, settings)
    found.brokers = {n.id: (n.host, n.port, n.rack) for n in desc.nodes}
    found.controller = desc.controller.id if desc.controller else None
    listed = ", ".join(f"{i} (rack {r})" for i, (_, _, r) in sorted(found.brokers.items()))
    for node in (n for n in target.nodes if n.is_broker):
        if node.broker_id is not None:
            if node.broker_id not in found.brokers:
                raise DiscoveryError(f"{target.source}: broker {node.name} (broker_id {node.broker_id}) is not in the "
                                     f"cluster, which lists brokers {listed}; fix nodes.{node.name}.broker_id")
            found.zone_ids[node.zone] = node.broker_id
            continue
        ids = [i for i, (_, _, rack) in found.brokers.items() if rack == node.zone]
        if len(ids) != 1:
            problem = "no broker" if not ids else f"{len(ids)} brokers {ids}"
            raise DiscoveryError(f"{target.source}: broker {node.name} of zone {node.zone} is not in the cluster: it "
                                 f"lists {problem} with broker.rack={node.zone} (brokers: {listed}); set the node's "
                                 "broker_id, or fix its zone")
        found.zone_ids[node.zone] = ids[0]
    extra = sorted(set(found.brokers) - set(found.zone_ids.values()))
    if extra:
        log.warning("the cluster has brokers %s that the target file does not name: faults will not touch them",
                    extra)


def flink_headers(target: Target) -> dict[str, str]:
    import os
    env = target.flink.auth_header_env if target.flink else None
    return {"Authorization": os.environ[env]} if env and os.environ.get(env) else {}


def discover_flink(target: Target, found: Discovered) -> None:
    url, headers = target.flink.rest_url, flink_headers(target)
    try:
        r = requests.get(f"{url}/config", headers=headers, timeout=5)
    except requests.RequestException as exc:
        raise DiscoveryError(f"flink.rest_url: {url} does not answer ({type(exc).__name__}); check the JobManager's "
                             "REST address (port 8081 by default)") from None
    body = {}
    if r.headers.get("content-type", "").startswith("application/json"):
        try:
            body = r.json()
        except ValueError:
            body = {}
    if r.status_code in (401, 403) and not body:
        hint = "set flink.auth_header_env" if not headers else f"check ${target.flink.auth_header_env}"
        server = r.headers.get("Server", "")
        if "flink" not in server.lower() and "xml" in r.headers.get("content-type", ""):
            raise DiscoveryError(f"flink.rest_url: {url} is not Flink's REST API (HTTP {r.status_code}, "
                                 f"{r.headers.get('content-type')}, server {server or '?'}); give the JobManager's "
                                 "REST URL (port 8081 by default)")
        raise DiscoveryError(f"flink.rest_url: {url} refused the request (HTTP {r.status_code}); {hint}")
    if r.status_code != 200 or "flink-version" not in body:
        what = r.headers.get("content-type", "?").split(";")[0]
        raise DiscoveryError(f"flink.rest_url: {url} is not Flink's REST API (GET /config: HTTP {r.status_code}, "
                             f"{what}, no flink-version); give the JobManager's REST URL (port 8081 by default)")
    found.flink_version = body["flink-version"]
    tms = requests.get(f"{url}/taskmanagers", headers=headers, timeout=5).json().get("taskmanagers", [])
    found.taskmanagers = tms
    found.slots_available = sum(int(tm.get("freeSlots", 0)) for tm in tms)
    wanted = len(target.with_role("taskmanager"))
    if len(tms) < wanted:
        raise DiscoveryError(f"{target.source}: the file names {wanted} TaskManagers but Flink REST at {url} lists "
                             f"{len(tms)}; start them or fix the taskmanager nodes")


def discover_s3(target: Target, s3) -> None:
    import botocore.exceptions
    try:
        s3.head_bucket(Bucket=target.s3.bucket)
    except botocore.exceptions.EndpointConnectionError:
        raise DiscoveryError(f"s3.endpoint: {target.s3.endpoint} does not answer; check the object store's "
                             "address") from None
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "?")
        fix = ("create it or fix s3.bucket" if code in ("404", "NoSuchBucket")
               else f"check the credentials in ${target.s3.access_key_env} / ${target.s3.secret_key_env}")
        raise DiscoveryError(f"s3: bucket {target.s3.bucket} at {target.s3.endpoint} answered {code}; {fix}") from None


def discover_toxiproxies(target: Target, clients: dict, found: Discovered) -> None:
    for zone, client in clients.items():
        try:
            found.toxiproxy_versions[zone] = client.version()
        except Exception as exc:
            raise DiscoveryError(f"toxiproxy.api.{zone}: {client.base_url} is not a Toxiproxy API "
                                 f"({type(exc).__name__}); give the URL of zone {zone}'s Toxiproxy (port 8474 by "
                                 "default) or remove it") from None


# ---- health gate ---------------------------------------------------------------------------
def health_problems(platform) -> list[str]:
    """What keeps the target from being at rest (empty: healthy)."""
    from kfchaos.platform.health import under_replicated
    problems = []
    listed = set(platform.admin.list_topics(timeout=10).brokers)
    missing = {z: i for z, i in platform.discovered.zone_ids.items() if i not in listed}
    if missing:
        problems.append(f"brokers {missing} (zone: id) are not listed in metadata")
    urp = under_replicated(platform)
    if urp:
        problems.append(f"{len(urp)} under-replicated partitions, e.g. {urp[:3]}")
    if platform.target.flink is not None:
        import requests as rq
        o = rq.get(f"{platform.flink_rest_url}/overview", headers=flink_headers(platform.target), timeout=5).json()
        if o.get("slots-available", 0) < 1:
            problems.append(f"Flink has no free slot ({o.get('taskmanagers')} TaskManagers, "
                            f"{o.get('slots-total')} slots)")
    return problems
