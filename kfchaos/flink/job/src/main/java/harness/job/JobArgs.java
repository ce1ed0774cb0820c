package harness.job;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Parsed command line of {@link ExactlyOnceJob}: {@code --name value} pairs only. */
public final class JobArgs implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The behaviours the harness can deploy. */
    public enum Variant {
        GOOD,
        CRASH,
        INCOMPATIBLE_STATE,
        AT_LEAST_ONCE,
        SLOW;

        static Variant parse(String raw) {
            String norm = raw.trim().toUpperCase(Locale.ROOT).replace('-', '_');
            for (Variant v : values()) {
                if (v.name().equals(norm)) {
                    return v;
                }
            }
            throw new IllegalArgumentException(
                    "unknown --variant '" + raw
                            + "' (expected good|crash|incompatible-state|at-least-once|slow)");
        }

        public String cliName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    private static final Set<String> KNOWN = Set.of(
            "bootstrap", "input-topic", "output-topic", "group", "txn-prefix", "variant",
            "checkpoint-interval-ms", "checkpoint-dir", "poison-key", "slow-ms",
            "restart-attempts", "restart-delay-ms", "transaction-timeout-ms", "job-name",
            "source-uid", "start-offsets");

    public final String bootstrap;
    public final String inputTopic;
    public final String outputTopic;
    public final String group;
    public final String txnPrefix;
    public final Variant variant;
    public final long checkpointIntervalMs;
    /** null = use the cluster's state.checkpoints.dir / execution.checkpointing.dir. */
    public final String checkpointDir;
    public final String poisonKey;
    public final long slowMs;
    /**
     * Job-level fixed-delay restart strategy, or -1 to leave the cluster's restart strategy in
     * force. The crash variant defaults to 3 attempts so that it reaches FAILED; the others
     * default to the cluster's (chaos tests want a good job to ride out broker outages).
     */
    public final int restartAttempts;
    public final long restartDelayMs;
    public final long transactionTimeoutMs;
    public final String jobName;
    /** uid of the Kafka source operator; a new one drops the old source's state on restore. */
    public final String sourceUid;
    /**
     * Partition -> first offset to read, from {@code --start-offsets 0:120,1:98}; empty: the
     * group's committed offsets, else the earliest (a restore uses the source's own state).
     */
    public final Map<Integer, Long> startOffsets;

    private JobArgs(Map<String, String> m) {
        bootstrap = required(m, "bootstrap");
        inputTopic = required(m, "input-topic");
        outputTopic = required(m, "output-topic");
        group = m.getOrDefault("group", "chaos-flink-job");
        txnPrefix = m.getOrDefault("txn-prefix", "chaos-flink-job");
        variant = Variant.parse(m.getOrDefault("variant", "good"));
        checkpointIntervalMs = positiveLong(m, "checkpoint-interval-ms", 2000L);
        checkpointDir = m.get("checkpoint-dir");
        poisonKey = m.getOrDefault("poison-key", "poison");
        slowMs = nonNegativeLong(m, "slow-ms", 50L);
        restartAttempts = (int) nonNegativeLong(
                m, "restart-attempts", variant == Variant.CRASH ? 3L : -1L);
        restartDelayMs = nonNegativeLong(m, "restart-delay-ms", 1000L);
        // the broker's transaction.max.timeout.ms default (15 min): a transaction pre-committed for a
        // checkpoint must outlive the job's downtime, or the broker aborts it and its output is lost
        transactionTimeoutMs = positiveLong(m, "transaction-timeout-ms", 900000L);
        jobName = m.getOrDefault("job-name", "chaos-" + variant.cliName());
        sourceUid = m.getOrDefault("source-uid", "kafka-source");
        startOffsets = offsets(m.getOrDefault("start-offsets", ""));
    }

    private static Map<Integer, Long> offsets(String raw) {
        Map<Integer, Long> out = new HashMap<>();
        for (String part : raw.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            String[] po = part.trim().split(":");
            try {
                long offset = Long.parseLong(po[1]);
                if (po.length != 2 || offset < 0) {
                    throw new NumberFormatException(part);
                }
                out.put(Integer.parseInt(po[0]), offset);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(
                        "--start-offsets takes partition:offset pairs like 0:120,1:98, got '" + raw + "'");
            }
        }
        return out;
    }

    public static JobArgs parse(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || a.length() == 2) {
                throw new IllegalArgumentException("expected --name value, got '" + a + "'");
            }
            String name = a.substring(2);
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value for --" + name);
                }
                value = args[++i];
            }
            if (!KNOWN.contains(name)) {
                throw new IllegalArgumentException("unknown argument --" + name + "; known: " + KNOWN);
            }
            m.put(name, value);
        }
        return new JobArgs(m);
    }

    private static String required(Map<String, String> m, String name) {
        String v = m.get(name);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    private static long nonNegativeLong(Map<String, String> m, String name, long dflt) {
        String v = m.get(name);
        if (v == null) {
            return dflt; // may be a -1 "unset" marker
        }
        try {
            long l = Long.parseLong(v.trim());
            if (l < 0) {
                throw new IllegalArgumentException("--" + name + " must be >= 0, got " + v);
            }
            return l;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be an integer, got '" + v + "'");
        }
    }

    private static long positiveLong(Map<String, String> m, String name, long dflt) {
        long l = nonNegativeLong(m, name, dflt);
        if (l == 0) {
            throw new IllegalArgumentException("--" + name + " must be > 0");
        }
        return l;
    }

    @Override
    public String toString() {
        return "JobArgs{variant=" + variant.cliName() + ", bootstrap=" + bootstrap
                + ", in=" + inputTopic + ", out=" + outputTopic + ", group=" + group
                + ", txnPrefix=" + txnPrefix + ", checkpointIntervalMs=" + checkpointIntervalMs
                + ", checkpointDir=" + checkpointDir + ", poisonKey=" + poisonKey
                + ", slowMs=" + slowMs
                + ", restart=" + (restartAttempts < 0 ? "cluster" : restartAttempts + "x" + restartDelayMs + "ms")
                + ", txnTimeoutMs=" + transactionTimeoutMs + ", sourceUid=" + sourceUid
                + ", startOffsets=" + startOffsets + "}";
    }
}
