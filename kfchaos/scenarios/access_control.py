"""Access control holds through a leader kill and a rolling restart (SASL_SSL + ACLs).

Contracts: access control (a principal with valid credentials and no ACL, `intruder`,
never writes to or reads from the workload's topic, nor joins its consumer group: every
attempt is denied, before, during and after the faults; an attempt whose outcome is
unknown, e.g. a timeout while a broker is down, is never counted as a violation),
durability, ordering, offset continuity and recovery for the allowed principal
(`workload`, with exactly read/write on its topic and read on its group).
Faults: SIGKILL of the leader of partition 0 (restarted 12 s later), then a rolling
restart of every broker; the authorizer's ACLs live in the KRaft metadata log, so every
restarted broker must enforce them again from its first request.
Needs `platform.security` with `acls: true` (profile kafka-3az-sasl).
"""
import time

from kfchaos.clients.intruder import Intruder
from kfchaos.faults.base import FaultSpec
from kfchaos.scenario import Scenario, ScenarioRun
from kfchaos.workload import WorkloadSpec

PAUSE_S = 1.5       # between two rounds of intruder attempts
MAX_S = 280         # the workload joins its side threads for up to 300 s


def intruder_of(run: ScenarioRun, topic: str) -> Intruder:
    return Intruder(run.platform.bootstrap_servers, topic, run.group, run.history,
                    run.platform.principal_settings("intruder"))


def steps(run: ScenarioRun) -> None:
    topic = run.topic()
    intruder = intruder_of(run, topic)
    intruder.round()                                    # before any fault (and before the workload)
    faults = [FaultSpec("kill", f"leader:{topic}:0", start=6, duration=12),
              FaultSpec("rolling-restart", "all", start=24, duration=1)]

    def keep_trying() -> None:
        """Rounds of attempts until one whole round ran after the rolling restart stopped."""
        deadline = time.monotonic() + MAX_S
        while time.monotonic() < deadline:
            finished = run.fault_window_wall("rolling-restart") is not None
            intruder.round()
            time.sleep(PAUSE_S)
            if finished:
                return

    run.workload(topic, WorkloadSpec(duration_s=30), faults=faults, during=keep_trying)
    intruder.round()                                    # after heal and the final read


SCENARIO = Scenario("access-control", __doc__,
                    ("access-control", "durability", "ordering", "offset-continuity", "recovery"), steps,
                    requires=("partition-leader",), only_with=("sasl",), tags=("fault",))
