package harness.job;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;

/**
 * Reference job for the chaos harness: Kafka (read_committed) -> keyBy(key) -> per-key counter
 * (keyed ValueState) -> Kafka (transactional, exactly-once).
 *
 * <pre>
 *   --bootstrap H:P --input-topic IN --output-topic OUT --group G --txn-prefix P
 *   [--variant good|crash|incompatible-state|at-least-once|slow]
 *   [--checkpoint-interval-ms 2000] [--checkpoint-dir URI] [--poison-key poison] [--slow-ms 50]
 *   [--restart-attempts N (crash: 3, others: cluster's)] [--restart-delay-ms 1000] [--transaction-timeout-ms 900000] [--job-name N]
 *   [--source-uid kafka-source] [--start-offsets 0:120,1:98]
 * </pre>
 *
 * Operator uids: "kafka-source" (or --source-uid: a job moved to another topic restores with a
 * new one and allowNonRestoredState, and reads from --start-offsets), "per-key-counter" (incompatible-state: "per-key-counter-v2"),
 * "kafka-sink".
 */
public final class ExactlyOnceJob {
    public static final String SOURCE_UID = "kafka-source";
    public static final String COUNTER_UID = "per-key-counter";
    public static final String COUNTER_V2_UID = "per-key-counter-v2";
    public static final String SINK_UID = "kafka-sink";

    private ExactlyOnceJob() {}

    public static void main(String[] argv) throws Exception {
        JobArgs args = JobArgs.parse(argv);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config(args));
        env.enableCheckpointing(args.checkpointIntervalMs, CheckpointingMode.EXACTLY_ONCE);
        // fixed, so savepoints stay restorable when the harness changes the parallelism
        env.setMaxParallelism(128);
        build(env, args);
        env.execute(args.jobName);
    }

    static Configuration config(JobArgs args) {
        Configuration conf = new Configuration();
        // Flink 2's default is exponential-delay with no attempt limit; the crash variant must
        // reach FAILED, so it (or any variant given --restart-attempts) gets a short fixed-delay
        // strategy. Otherwise the cluster's restart strategy applies.
        if (args.restartAttempts >= 0) {
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, args.restartAttempts);
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY,
                    Duration.ofMillis(args.restartDelayMs));
        }
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(args.checkpointIntervalMs));
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        // keep the last checkpoint when the harness cancels, so it can restore from it
        conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        if (args.checkpointDir != null && !args.checkpointDir.isBlank()) {
            conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, args.checkpointDir);
        }
        return conf;
    }

    /** --start-offsets if given (partitions not named start at the earliest), else committed/earliest. */
    static OffsetsInitializer startingOffsets(JobArgs args) {
        if (args.startOffsets.isEmpty()) {
            return OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
        }
        Map<TopicPartition, Long> at = new HashMap<>();
        args.startOffsets.forEach((p, o) -> at.put(new TopicPartition(args.inputTopic, p), o));
        return OffsetsInitializer.offsets(at, OffsetResetStrategy.EARLIEST);
    }

    static void build(StreamExecutionEnvironment env, JobArgs args) {
        KafkaSource<InputEvent> source = KafkaSource.<InputEvent>builder()
                .setBootstrapServers(args.bootstrap)
                .setTopics(args.inputTopic)
                .setGroupId(args.group)
                // committed group offsets if any, else from the beginning; a restore from a
                // checkpoint/savepoint uses the offsets in the state instead
                .setStartingOffsets(startingOffsets(args))
                .setDeserializer(new InputDeserializer())
                .setProperty("isolation.level", "read_committed")
                .setProperty("client.id.prefix", args.group + "-src")
                .setProperty("partition.discovery.interval.ms", "10000")
                .build();

        DataStream<InputEvent> input = env
                .fromSource(source, WatermarkStrategy.noWatermarks(), "kafka-source")
                .uid(args.sourceUid);

        KeyedStream<InputEvent, String> byKey = input.keyBy(e -> e.key, TypeInformation.of(String.class));

        KeyedProcessFunction<String, InputEvent, OutputEvent> counter;
        String counterUid = COUNTER_UID;
        switch (args.variant) {
            case CRASH:
                counter = new PerKeyCounter(args.poisonKey, 0L);
                break;
            case SLOW:
                counter = new PerKeyCounter(null, args.slowMs);
                break;
            case INCOMPATIBLE_STATE:
                counter = new PerKeyCounterV2();
                counterUid = COUNTER_V2_UID;
                break;
            case GOOD:
            case AT_LEAST_ONCE:
            default:
                counter = new PerKeyCounter(null, 0L);
                break;
        }
        DataStream<OutputEvent> output = byKey
                .process(counter, TypeInformation.of(OutputEvent.class))
                .name(counterUid)
                .uid(counterUid);

        DeliveryGuarantee guarantee = args.variant == JobArgs.Variant.AT_LEAST_ONCE
                ? DeliveryGuarantee.AT_LEAST_ONCE
                : DeliveryGuarantee.EXACTLY_ONCE;
        KafkaSink<OutputEvent> sink = KafkaSink.<OutputEvent>builder()
                .setBootstrapServers(args.bootstrap)
                .setDeliveryGuarantee(guarantee)
                .setTransactionalIdPrefix(args.txnPrefix)
                // must not exceed the broker's transaction.max.timeout.ms (default 15 min)
                .setProperty("transaction.timeout.ms", Long.toString(args.transactionTimeoutMs))
                .setRecordSerializer(KafkaRecordSerializationSchema.<OutputEvent>builder()
                        .setTopic(args.outputTopic)
                        .setKeySerializationSchema(new OutputSchemas.Key())
                        .setValueSerializationSchema(new OutputSchemas.Value())
                        .build())
                .build();
        output.sinkTo(sink).name("kafka-sink").uid(SINK_UID);
    }
}
