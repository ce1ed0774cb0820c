package harness.job;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * JSON in and out, using the Jackson that flink-dist ships (relocated under
 * org.apache.flink.shaded.jackson2), so the job jar needs no JSON library of its own.
 */
final class JsonCodec {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonCodec() {}

    /** Thrown for a value that is not the expected input JSON. */
    static final class MalformedInput extends Exception {
        private static final long serialVersionUID = 1L;

        MalformedInput(String msg) {
            super(msg);
        }
    }

    /**
     * Parses {"id": str, "key": str, "seq": int, "producer": str}. The record key (may be null)
     * is used when the JSON has no "key".
     */
    static InputEvent parseInput(byte[] value, byte[] recordKey, int partition, long offset)
            throws MalformedInput {
        if (value == null) {
            throw new MalformedInput("null value (tombstone) at " + partition + "@" + offset);
        }
        JsonNode n;
        try {
            n = MAPPER.readTree(value);
        } catch (IOException e) {
            throw new MalformedInput("not JSON at " + partition + "@" + offset + ": " + e.getMessage());
        }
        if (n == null || !n.isObject()) {
            throw new MalformedInput("not a JSON object at " + partition + "@" + offset);
        }
        String id = text(n, "id");
        if (id == null) {
            throw new MalformedInput("missing \"id\" at " + partition + "@" + offset);
        }
        String key = text(n, "key");
        if (key == null && recordKey != null) {
            key = new String(recordKey, StandardCharsets.UTF_8);
        }
        if (key == null) {
            throw new MalformedInput("missing \"key\" at " + partition + "@" + offset);
        }
        JsonNode seqNode = n.get("seq");
        long seq = -1L;
        if (seqNode != null && seqNode.canConvertToLong()) {
            seq = seqNode.asLong();
        }
        return new InputEvent(id, key, seq, text(n, "producer"), partition, offset);
    }

    static byte[] writeOutput(OutputEvent e) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("id", e.id);
        o.put("key", e.key);
        o.put("count", e.count);
        o.put("seq", e.seq);
        o.put("in_partition", e.inPartition);
        o.put("in_offset", e.inOffset);
        try {
            return MAPPER.writeValueAsBytes(o);
        } catch (IOException ex) {
            throw new IllegalStateException("cannot serialize " + e, ex);
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        return v.isTextual() ? v.textValue() : v.toString();
    }
}
