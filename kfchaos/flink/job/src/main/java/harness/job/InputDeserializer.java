package harness.job;

import java.io.IOException;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.metrics.Counter;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sees the whole ConsumerRecord, so the output can carry the input partition and offset.
 *
 * <p>Note: {@code org.apache.kafka} references are relocated at package time to the
 * kafka-clients copy inside flink-sql-connector-kafka (see pom.xml).
 *
 * <p>Malformed values are skipped (logged, counted in the "malformedRecords" metric) rather than
 * failing the job: a job that restart-loops on bad input is the `crash` variant's job, not this.
 */
public class InputDeserializer implements KafkaRecordDeserializationSchema<InputEvent> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(InputDeserializer.class);

    private transient Counter malformed;

    @Override
    public void open(DeserializationSchema.InitializationContext context) {
        malformed = context.getMetricGroup().counter("malformedRecords");
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<InputEvent> out)
            throws IOException {
        try {
            out.collect(JsonCodec.parseInput(
                    record.value(), record.key(), record.partition(), record.offset()));
        } catch (JsonCodec.MalformedInput e) {
            if (malformed != null) {
                malformed.inc();
            }
            LOG.warn("skipping malformed input record on {}: {}", record.topic(), e.getMessage());
        }
    }

    @Override
    public TypeInformation<InputEvent> getProducedType() {
        return TypeInformation.of(InputEvent.class);
    }
}
