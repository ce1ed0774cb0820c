package harness.job;

import java.nio.charset.StandardCharsets;

import org.apache.flink.api.common.serialization.SerializationSchema;

/** Key and value serializers for the KafkaSink (record key = the key string, value = JSON). */
final class OutputSchemas {
    private OutputSchemas() {}

    static final class Key implements SerializationSchema<OutputEvent> {
        private static final long serialVersionUID = 1L;

        @Override
        public byte[] serialize(OutputEvent e) {
            return e.key.getBytes(StandardCharsets.UTF_8);
        }
    }

    static final class Value implements SerializationSchema<OutputEvent> {
        private static final long serialVersionUID = 1L;

        @Override
        public byte[] serialize(OutputEvent e) {
            return JsonCodec.writeOutput(e);
        }
    }
}
