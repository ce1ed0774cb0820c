"""The least-privilege RBAC the kubernetes actuator needs (the README documents the same
objects; tests bind a token to exactly what the README shows)."""
from __future__ import annotations

ROLE_NAME = "kafka-chaos-harness"

RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "delete"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": ["chaos-mesh.org"], "resources": ["podchaos", "networkchaos", "iochaos"],
     "verbs": ["get", "list", "watch", "create", "patch", "delete"]},
    {"apiGroups": ["flink.apache.org"], "resources": ["flinkdeployments"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": ["kafka.strimzi.io"], "resources": ["kafkas"], "verbs": ["get"]},     # preflight: the Kafka exists
]
CLUSTER_RULES = [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]


def manifests(namespaces: list[str], subject: dict) -> list[dict]:
    """Role + RoleBinding in each namespace, ClusterRole + ClusterRoleBinding for node zones."""
    out = [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": ROLE_NAME},
            "rules": CLUSTER_RULES},
           {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": ROLE_NAME}, "subjects": [subject],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ROLE_NAME}}]
    for ns in dict.fromkeys(namespaces):
        out += [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": {"name": ROLE_NAME, "namespace": ns}, "rules": RULES},
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": ROLE_NAME, "namespace": ns}, "subjects": [subject],
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE_NAME}}]
    return out
