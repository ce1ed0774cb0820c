"""The rules of a target file beyond its shape: required fields, formats, cross-references,
environment variables that must be set. Builds the :class:`Target`."""
from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .schema import (ACTUATORS, BROKER_ROLES, ENV_NAME, HOST_PORT, MECHANISMS, PROTOCOLS, ROLES, SAFE,
                     ActuatorSpec, FlinkSpec, KafkaSpec, Limits, NodeSpec, S3Spec, Security, Target,
                     ToxiproxySpec, fail)

#: False while loading a target only to clean it: named variables need not be set then
REQUIRE_ENV: ContextVar[bool] = ContextVar("REQUIRE_ENV", default=True)
ZONED_ROLES = ("broker", "controller", "broker+controller", "jobmanager", "taskmanager", "toxiproxy")


def required(section: dict, key: str, where: str, src: str, fix: str) -> Any:
    if key not in section:
        raise fail(src, f"{where}.{key}" if where else key, "is missing", fix)
    return section[key]


def check_addresses(value: str, path: str, src: str) -> str:
    for item in value.split(","):
        m = HOST_PORT.match(item.strip())
        if not m or not 0 < int(m.group(1)) < 65536:
            raise fail(src, path, f"has {item.strip()!r}, not host:port", "write host:port[,host:port...] "
                       "(e.g. broker-a:9092,broker-b:9092)")
    return ",".join(i.strip() for i in value.split(","))


def check_url(value: str, path: str, src: str) -> str:
    u = urlparse(value)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise fail(src, path, f"is {value!r}, not an http(s) URL", "write e.g. http://host:8081")
    if u.username or u.password:
        raise fail(src, path, "holds credentials in the URL", "remove them; name an environment variable instead")
    try:
        u.port
    except ValueError:
        raise fail(src, path, f"has a bad port in {value!r}", "use a port between 1 and 65535") from None
    return value.rstrip("/")


def check_env(name: str | None, path: str, src: str) -> str | None:
    if name is None:
        return None
    if not ENV_NAME.fullmatch(name):
        raise fail(src, path, f"is {name!r}, not an environment variable name",
                   "name the variable that holds the value (letters, digits and _), e.g. KAFKA_PASSWORD")
    if name not in os.environ and REQUIRE_ENV.get():
        raise fail(src, path, f"names the environment variable {name}, which is not set",
                   f"export {name}=... before running (the value never goes into a file)")
    return name


def check_file(value: str | None, path: str, src: str) -> str | None:
    if value is None:
        return None
    p = Path(value).expanduser()
    if not p.is_file():
        raise fail(src, path, f"names {value}, which is not a readable file", "give the path of an existing file")
    return value


def security(data: dict, src: str) -> Security:
    w = "kafka.security"
    proto = data.get("protocol", "PLAINTEXT")
    if proto not in PROTOCOLS:
        raise fail(src, f"{w}.protocol", f"is {proto!r}", f"use one of {', '.join(PROTOCOLS)}")
    if proto == "PLAINTEXT":
        extra = sorted(set(data) - {"protocol"})
        if extra:
            raise fail(src, f"{w}.{extra[0]}", "is set but the protocol is PLAINTEXT", "remove it or set protocol")
        return Security()
    ssl = {k: check_file(data.get(k), f"{w}.{k}", src) for k in ("ca_file", "cert_file", "key_file")}
    if bool(ssl["cert_file"]) != bool(ssl["key_file"]):
        raise fail(src, f"{w}.{'key_file' if ssl['cert_file'] else 'cert_file'}", "is missing",
                   "give cert_file and key_file together (client certificate), or neither")
    sasl = {k: data.get(k) for k in ("sasl_mechanism", "username_env", "password_env")}
    if proto == "SSL":
        given = [k for k, v in sasl.items() if v is not None]
        if given:
            raise fail(src, f"{w}.{given[0]}", "is set but the protocol is SSL", "use protocol SASL_SSL, or remove it")
    else:
        mech = required(data, "sasl_mechanism", w, src, f"set sasl_mechanism to one of {', '.join(MECHANISMS)}")
        if mech not in MECHANISMS:
            raise fail(src, f"{w}.sasl_mechanism", f"is {mech!r}", f"use one of {', '.join(MECHANISMS)}")
        for k in ("username_env", "password_env"):
            required(data, k, w, src, f"name the environment variable that holds the SASL {k[:-4]}")
            check_env(data[k], f"{w}.{k}", src)
    check_env(data.get("key_password_env"), f"{w}.key_password_env", src)
    sec = Security(proto, ssl["ca_file"], ssl["cert_file"], ssl["key_file"], data.get("key_password_env"),
                   sasl["sasl_mechanism"], sasl["username_env"], sasl["password_env"])
    if REQUIRE_ENV.get():
        from .tool_security import check_client_files
        check_client_files(sec, src)
    return sec


def actuator(data: dict, where: str, src: str) -> ActuatorSpec:
    kind = required(data, "type", where, src, f"set type to one of {', '.join(ACTUATORS)}")
    if kind not in ACTUATORS:
        raise fail(src, f"{where}.type", f"is {kind!r}", f"use one of {', '.join(ACTUATORS)}")
    docker_keys, ssh_keys = {"container", "label", "docker_host"}, {"host", "port", "user", "key_file", "known_hosts",
                                                                   "unit", "pid_file", "start_command", "log_file",
                                                                   "sudo"}
    if kind == "kubernetes":
        from .kubernetes.config import actuator_spec
        return actuator_spec(data, where, src)
    wrong = sorted(set(data) & ((ssh_keys if kind == "docker" else docker_keys) | {"pod", "selector"}))
    if wrong:
        raise fail(src, f"{where}.{wrong[0]}", f"does not apply to a {kind} actuator", "remove it")
    if kind == "docker":
        if ("container" in data) == ("label" in data):
            raise fail(src, where, "needs exactly one of container or label",
                       "give the container name (container: kafka-a) or a label (label: app=kafka-a)")
        if "label" in data and "=" not in data["label"]:
            raise fail(src, f"{where}.label", f"is {data['label']!r}, not key=value", "write e.g. app=kafka-a")
        return ActuatorSpec("docker", data.get("container"), data.get("label"), data.get("docker_host"))
    for k in ("host", "user", "key_file"):
        required(data, k, where, src, f"set {k} for the ssh actuator")
    check_file(data["key_file"], f"{where}.key_file", src)
    check_file(data.get("known_hosts"), f"{where}.known_hosts", src)
    if ("unit" in data) == ("pid_file" in data):
        raise fail(src, where, "needs exactly one of unit or pid_file",
                   "give the systemd unit (unit: kafka.service) or the process's pid file (pid_file: /run/kafka.pid)")
    port = data.get("port", 22)
    if not 0 < port < 65536:
        raise fail(src, f"{where}.port", f"is {port}", "use a port between 1 and 65535")
    return ActuatorSpec("ssh", host=data["host"], port=port, user=data["user"], key_file=data["key_file"],
                        known_hosts=data.get("known_hosts"), unit=data.get("unit"), pid_file=data.get("pid_file"),
                        start_command=data.get("start_command"), log_file=data.get("log_file"),
                        sudo=bool(data.get("sudo", False)))


def nodes(data: list, zones: tuple[str, ...], src: str) -> tuple[NodeSpec, ...]:
    out, seen = [], set()
    for i, n in enumerate(data):
        w = f"nodes[{i}]"
        name = required(n, "name", w, src, "give every node a name")
        if not SAFE.fullmatch(name):
            raise fail(src, f"{w}.name", f"is {name!r}", "use letters, digits, '.', '_' and '-' (up to 63)")
        if name in seen:
            raise fail(src, f"{w}.name", f"repeats {name!r}", "give every node its own name")
        seen.add(name)
        role = required(n, "role", w, src, f"set role to one of {', '.join(ROLES)}")
        if role not in ROLES:
            raise fail(src, f"{w}.role", f"is {role!r}", f"use one of {', '.join(ROLES)}")
        zone = n.get("zone")
        if zone is None and role in ZONED_ROLES:
            raise fail(src, f"{w}.zone", "is missing", f"say which of the zones {list(zones)} {name} runs in")
        if zone is not None and zone not in zones:
            raise fail(src, f"{w}.zone", f"is {zone!r}, not one of the zones {list(zones)}",
                       "use a zone listed under `zones`")
        if "broker_id" in n and role not in BROKER_ROLES:
            raise fail(src, f"{w}.broker_id", f"is set on a {role}", "remove it (only brokers have an id)")
        if "bounded_disk" in n and role not in BROKER_ROLES:
            raise fail(src, f"{w}.bounded_disk", f"is set on a {role}", "remove it (only for brokers)")
        out.append(NodeSpec(name, role, zone, actuator(required(n, "actuator", w, src, "say how to act on the node "
                                                                "(actuator: {type: docker, container: ...})"),
                                                       f"{w}.actuator", src),
                            n.get("broker_id"), bool(n.get("bounded_disk", False)), n.get("data_dir")))
    return tuple(out)


def check_all(data: dict, src: str) -> Target:
    name = required(data, "name", "", src, "give the target a name (name: my-platform)")
    if not SAFE.fullmatch(name):
        raise fail(src, "name", f"is {name!r}", "use letters, digits, '.', '_' and '-'")
    zones = tuple(required(data, "zones", "", src, "list the zones, e.g. zones: [a, b, c]"))
    for i, z in enumerate(zones):
        if not SAFE.fullmatch(z):
            raise fail(src, f"zones[{i}]", f"is {z!r}", "use letters, digits, '.', '_' and '-'")
    if len(set(zones)) != len(zones):
        raise fail(src, "zones", f"lists a zone twice: {list(zones)}", "list each zone once")
    k = required(data, "kafka", "", src, "give kafka.bootstrap_servers")
    kafka = KafkaSpec(
        check_addresses(required(k, "bootstrap_servers", "kafka", src, "give host:port of the brokers"),
                        "kafka.bootstrap_servers", src),
        *(check_addresses(k[key], f"kafka.{key}", src) if key in k else None
          for key in ("internal_bootstrap_servers", "proxied_bootstrap_servers")),
        k.get("tools_classpath"), security(k.get("security", {}), src),
        check_addresses(k["tools_bootstrap_servers"], "kafka.tools_bootstrap_servers", src)
        if "tools_bootstrap_servers" in k else None)
    flink = s3 = None
    if "flink" in data:
        f = data["flink"]
        url = check_url(required(f, "rest_url", "flink", src, "give the JobManager's REST URL"), "flink.rest_url", src)
        if f.get("zone") is not None and f["zone"] not in zones:
            raise fail(src, "flink.zone", f"is {f['zone']!r}, not one of {list(zones)}", "use a listed zone")
        flink = FlinkSpec(url, check_env(f.get("auth_header_env"), "flink.auth_header_env", src), f.get("zone"))
    if "s3" in data:
        s = data["s3"]
        url = check_url(required(s, "endpoint", "s3", src, "give the object store's URL"), "s3.endpoint", src)
        bucket = required(s, "bucket", "s3", src, "name the bucket the platform uses (e.g. for Flink checkpoints)")
        if ("access_key_env" in s) != ("secret_key_env" in s):
            raise fail(src, "s3.secret_key_env" if "access_key_env" in s else "s3.access_key_env", "is missing",
                       "name both variables (access_key_env and secret_key_env) or neither")
        s3 = S3Spec(url, bucket, s.get("region", "us-east-1"), check_env(s.get("access_key_env"), "s3.access_key_env",
                                                                          src),
                    check_env(s.get("secret_key_env"), "s3.secret_key_env", src))
    t = data.get("toxiproxy", {})
    api = {}
    for zone, url in t.get("api", {}).items():
        if zone not in zones:
            raise fail(src, f"toxiproxy.api.{zone}", f"is for zone {zone!r}, not one of {list(zones)}",
                       "key each URL by a listed zone")
        api[zone] = check_url(url, f"toxiproxy.api.{zone}", src)
    toxi = ToxiproxySpec(api, t.get("replication_port_base"), t.get("controller_port_base"), t.get("s3_port"))
    node_list = nodes(required(data, "nodes", "", src, "list the nodes (brokers, Flink, object store)"), zones, src)
    for zone in zones:
        brokers = [n.name for n in node_list if n.is_broker and n.zone == zone]
        if len(brokers) != 1:
            raise fail(src, "nodes", f"has {len(brokers)} brokers in zone {zone} ({', '.join(brokers) or 'none'})",
                       "give exactly one broker node per zone (faults address brokers by zone)")
    for n in node_list:
        needs = {"jobmanager": (flink, "flink.rest_url"), "taskmanager": (flink, "flink.rest_url"),
                 "object-store": (s3, "s3.endpoint")}.get(n.role)
        if needs and needs[0] is None:
            raise fail(src, needs[1], f"is missing but node {n.name} is a {n.role}", f"give {needs[1]}")
        if n.role == "toxiproxy" and n.zone not in api:
            raise fail(src, f"toxiproxy.api.{n.zone}", f"is missing but node {n.name} is zone {n.zone}'s Toxiproxy",
                       "give its API URL")
    lim = data.get("limits", {})
    names = {n.name for n in node_list}
    for i, nm in enumerate(lim.get("touchable", [])):
        if nm not in names:
            raise fail(src, f"limits.touchable[{i}]", f"is {nm!r}, not a node of the file", "use names under nodes")
    most = lim.get("max_nodes_per_fault", 1)
    if most < 1:
        raise fail(src, "limits.max_nodes_per_fault", f"is {most}", "allow at least 1 node per fault")
    kube = None
    if "kubernetes" in data or any(n.actuator.type == "kubernetes" for n in node_list):
        from .kubernetes.config import kube_spec, with_kube
        kube = kube_spec(data.get("kubernetes"), zones, node_list, src)
        node_list = with_kube(node_list, kube)
    return Target(name, zones, kafka, node_list, flink, s3, toxi,
                  Limits(tuple(lim["touchable"]) if "touchable" in lim else None, most),
                  data.get("description", ""), src, kube)
