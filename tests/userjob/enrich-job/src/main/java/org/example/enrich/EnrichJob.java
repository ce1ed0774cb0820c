package org.example.enrich;

import java.io.InputStream;
import java.util.Properties;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ParameterTool;

/**
 * Orders in, enriched orders out: each order (JSON with orderId, customer, amount) gains a
 * "tier" from its amount. Stateless apart from the Kafka source offsets and the sink's
 * transactions.
 *
 * <pre>
 *   --brokers H:P --orders IN --enriched OUT --group G --txn-prefix P [--checkpoint-ms 2000]
 * </pre>
 */
public final class EnrichJob {
    private EnrichJob() {}

    public static void main(String[] argv) throws Exception {
        ParameterTool params = ParameterTool.fromArgs(argv);
        Properties build = new Properties();
        try (InputStream in = EnrichJob.class.getResourceAsStream("/enrich-build.properties")) {
            build.load(in);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.enableCheckpointing(params.getLong("checkpoint-ms", 2000L), CheckpointingMode.EXACTLY_ONCE);

        KafkaSource<String> source = KafkaSource.<String>builder()
                .setBootstrapServers(params.getRequired("brokers"))
                .setTopics(params.getRequired("orders"))
                .setGroupId(params.getRequired("group"))
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setValueOnlyDeserializer(new SimpleStringSchema())
                .setProperty("isolation.level", "read_committed")
                .build();
        KafkaSink<String> sink = KafkaSink.<String>builder()
                .setBootstrapServers(params.getRequired("brokers"))
                .setDeliveryGuarantee(DeliveryGuarantee.valueOf(build.getProperty("delivery")))
                .setTransactionalIdPrefix(params.getRequired("txn-prefix"))
                .setProperty("transaction.timeout.ms", "60000")
                .setRecordSerializer(KafkaRecordSerializationSchema.<String>builder()
                        .setTopic(params.getRequired("enriched"))
                        .setValueSerializationSchema(new SimpleStringSchema())
                        .build())
                .build();

        env.fromSource(source, WatermarkStrategy.noWatermarks(), "orders")
                .uid(build.getProperty("source.uid"))
                .map(EnrichJob::enrich).name("enrich").uid("enrich")
                .sinkTo(sink).name("enriched").uid("enriched-sink");
        env.execute("orders-enrich");
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    static String enrich(String order) throws Exception {
        ObjectNode node = (ObjectNode) JSON.readTree(order);
        double amount = node.path("amount").asDouble(0.0);
        node.put("tier", amount >= 100 ? "gold" : amount >= 10 ? "silver" : "bronze");
        return JSON.writeValueAsString(node);
    }
}
