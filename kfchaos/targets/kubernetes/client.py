"""API clients for a target's kubeconfig and context (the maintained ``kubernetes`` client)."""
from __future__ import annotations

import os
from pathlib import Path

from ..actuators import ActuatorError

_CLIENTS: dict[tuple, object] = {}


def api_client(spec, fresh: bool = False):
    """A ``kubernetes.client.ApiClient`` for ``spec`` (a KubeSpec); one line if the config is unusable."""
    from kubernetes import config
    path = spec.kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or "~/.kube/config"
    path = str(Path(path).expanduser())
    key = (path, spec.context)
    if key in _CLIENTS and not fresh:
        return _CLIENTS[key]
    if not Path(path).is_file():
        raise ActuatorError(f"kubernetes.kubeconfig: {path} is not a readable file; give the kubeconfig of the "
                            "cluster (kubernetes.kubeconfig or $KUBECONFIG)")
    try:
        client = config.new_client_from_config(config_file=path, context=spec.context)
    except (config.ConfigException, ValueError, KeyError) as exc:
        where = f"context {spec.context!r}" if spec.context else "its current context"
        raise ActuatorError(f"kubernetes: {path} with {where} is unusable ({' '.join(str(exc).split())[:200]}); "
                            "fix kubernetes.context (see `kubectl config get-contexts`)") from None
    _CLIENTS[key] = client
    return client


def reason(exc: Exception) -> str:
    """One line from an ApiException (its status and the server's message)."""
    from kubernetes.client.exceptions import ApiException
    if isinstance(exc, ApiException):
        import json
        try:
            msg = json.loads(exc.body or "{}").get("message") or exc.reason
        except ValueError:
            msg = exc.reason
        return f"HTTP {exc.status}: {' '.join(str(msg).split())[:400]}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


def kubectl_prefix(spec) -> str:
    """``kubectl`` with the target's kubeconfig and context (for the commands the harness prints)."""
    parts = ["kubectl"]
    if spec.kubeconfig:
        parts.append(f"--kubeconfig {spec.kubeconfig}")
    if spec.context:
        parts.append(f"--context {spec.context}")
    return " ".join(parts)
