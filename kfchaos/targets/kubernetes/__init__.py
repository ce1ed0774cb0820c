"""Kubernetes targets: Strimzi-run Kafka, Flink operator deployments and Chaos Mesh faults.

- :mod:`.config`: the ``kubernetes`` section of a target file and the ``kubernetes`` actuator;
- :mod:`.actuator`: a pod as a node (kill = delete with grace 0, pause = PodChaos pod-failure);
- :mod:`.chaos`: Chaos Mesh resources, proof and heal from their status conditions, sweep;
- :mod:`.topology`: zones from node labels, zone-cut selectors, which pods a selector selects;
- :mod:`.faults`: the fault library's network faults made with Chaos Mesh;
- :mod:`.flinkop`: deploy, upgrade and roll back a ``FlinkDeployment``;
- :mod:`.preflight`, :mod:`.clean`, :mod:`.rbac`: checks before any fault, the sweep, the Role;
- :mod:`.artifacts`, :mod:`.testcluster`: the real control plane the tests run against.
"""
