"""The detection matrix: weakened platforms the harness must catch, and their safe twins.

Each entry names a profile the project ships with one unsafe setting (taken from the Kafka
and Flink documentation of unsafe settings and from incident classes platform teams meet),
the scenario that must expose it, and the contract that must fire there. Its safe twin
(the same scenario on the safe profile) must not fire that contract: that would be a false
alarm. A migration entry (``source`` set) weakens the rehearsal instead: ``kfchaos migrate
--from source --to weak [--cutover latest]``, its twin ``--to safe`` with the sound move.
``benchmarks/detection_matrix.py`` runs the whole matrix and prints "N of M caught,
K false alarms"; the system tests run a representative subset.
"""
from __future__ import annotations

from dataclasses import dataclass

from kfchaos.results import RunResult


@dataclass(frozen=True)
class Entry:
    name: str
    contract: str          # the contract that must be violated
    scenario: str          # the scenario that must catch it
    weak: str              # the weakened profile
    safe: str = "kafka-3az"
    why: str = ""
    source: str = ""       # a migration entry (scenario "migration"): the profile migrated from;
    #                        weak and safe are then the profiles migrated to (kfchaos migrate)
    cutover: str = "translated"     # a migration entry's weakened group move (`migrate --cutover`)
    job_start: str = "positions"    # a migration entry's weakened job move (`migrate --job-start`)

    @property
    def is_migration(self) -> bool:
        return bool(self.source)

    def fires(self, run: RunResult) -> bool:
        """The entry's contract was violated in its scenario: caught on the weak profile, a false
        alarm on the safe twin."""
        return any(s.name == self.scenario and s.verdict_of(self.contract) == "violated" for s in run.scenarios)


MATRIX: tuple[Entry, ...] = (
    Entry("acks=1, min ISR 1, unclean election", "durability", "isolated-leader", "kafka-3az-unsafe",
          why="a cut-off leader acknowledges writes the majority never sees; they are truncated after heal"),
    Entry("non-idempotent producer, 5 in flight, retries", "ordering", "zone-isolation", "weak-ordering",
          why="a retried batch lands after a later one or on top of a write the broker already had"),
    Entry("topic compacted by mistake", "offset-continuity", "smoke", "weak-compacted",
          why="cleanup.policy=compact keeps the newest record per key: holes in the log, records gone"),
    Entry("new consumer group on auto.offset.reset=latest", "offset-continuity", "smoke", "weak-group-latest",
          why="a group without committed offsets starts at the log end and skips what was written before"),
    Entry("Flink sink at-least-once", "exactly-once", "flink-taskmanager-kill", "weak-at-least-once",
          why="without Kafka transactions a failover re-emits the output since the last checkpoint"),
    Entry("no quota for replay clients", "replay-isolation", "backfill-isolation", "weak-no-quota",
          why="a backfill at full speed fills the brokers' links ahead of live produce and replication"),
    Entry("Flink restart strategy none", "recovery", "flink-taskmanager-kill", "weak-flink-no-restart",
          why="after a TaskManager loss the job fails for good"),
    Entry("Flink JobManager without high availability", "recovery", "jobmanager-failover", "weak-flink-no-ha",
          why="a replaced JobManager has no HA store to recover the job from: the job is gone"),
    Entry("SASL_SSL without an authorizer", "access-control", "access-control", "weak-no-acls",
          safe="kafka-3az-sasl", why="every authenticated principal, the intruder too, may read and write"),
    Entry("mirrored topic created compacted on the new platform", "mirroring", "migration", "weak-compacted",
          safe="kafka-3az-tiered", source="kafka-3az",
          why="the target keeps only the newest record per key: acknowledged source records are gone on B"),
    Entry("group moved without offset translation, at the target's end", "group-cutover", "migration",
          "kafka-3az-tiered", safe="kafka-3az-tiered", source="kafka-3az", cutover="latest",
          why="a new group on the target starts at its end: what was mirrored while consumers moved is skipped"),
    Entry("Flink job redeployed from scratch on the new platform", "job-move", "migration", "kafka-3az-tiered",
          safe="kafka-3az-tiered", source="kafka-3az", job_start="earliest",
          why="the moved job reads the mirrored topic from its start: every input before the move is output twice"),
)


def by_contract() -> dict[str, list[Entry]]:
    out: dict[str, list[Entry]] = {}
    for e in MATRIX:
        out.setdefault(e.contract, []).append(e)
    return out
