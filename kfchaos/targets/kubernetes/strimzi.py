"""Strimzi's side of a Kubernetes target: the cluster serves the ``kafkas.kafka.strimzi.io``
CRD (API version ``v1``, or ``v1beta2`` of older operators) and the target's Kafka resource
exists in its namespace. ``find_kafka`` answers the API version it was found in, or one line
saying what is wrong."""
from __future__ import annotations

from dataclasses import dataclass

from .client import reason

GROUP, PLURAL, CRD = "kafka.strimzi.io", "kafkas", "kafkas.kafka.strimzi.io"
VERSIONS = ("v1", "v1beta2")


@dataclass(frozen=True)
class KafkaLookup:
    """``version``: the API version the Kafka resource was read in; ``problem``: one line, or None if found."""
    version: str | None
    problem: str | None = None


def served_version(custom) -> str | None:
    """The first of VERSIONS in which the cluster serves ``kafkas`` (API discovery), else None."""
    from kubernetes.client.exceptions import ApiException
    for version in VERSIONS:
        try:
            resources = custom.get_api_resources(GROUP, version)
        except ApiException as exc:
            if exc.status == 404:
                continue
            raise
        if any(r.name == PLURAL for r in resources.resources or []):
            return version
    return None


def find_kafka(api_client, namespace: str, cluster: str) -> KafkaLookup:
    """Kafka ``namespace/cluster`` in the first served API version, or one line: what is missing, how to fix it."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    custom = client.CustomObjectsApi(api_client)
    try:
        version = served_version(custom)
    except ApiException as exc:
        return KafkaLookup(None, f"the API group {GROUP} cannot be discovered ({reason(exc)})")
    if version is None:
        return KafkaLookup(None, f"Strimzi is not installed: the cluster has no CRD {CRD} (none of "
                                 f"{', '.join(VERSIONS)} is served); install the Strimzi operator and its CRDs, "
                                 "or remove kubernetes.strimzi_cluster")
    try:
        custom.get_namespaced_custom_object(GROUP, version, namespace, PLURAL, cluster)
    except ApiException as exc:
        if exc.status == 404:
            return KafkaLookup(version, f"kubernetes.strimzi_cluster: no Kafka resource {cluster!r} in namespace "
                                        f"{namespace} ({GROUP}/{version}); fix strimzi_cluster or kubernetes.namespace")
        return KafkaLookup(version, f"Kafka {namespace}/{cluster} cannot be read ({reason(exc)}); grant get on {CRD}")
    return KafkaLookup(version)
