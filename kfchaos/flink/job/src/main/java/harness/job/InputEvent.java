package harness.job;

/**
 * One input record plus where it came from. A Flink POJO (public no-arg constructor, public
 * fields) so it is serialized with the PojoSerializer, not Kryo.
 */
public class InputEvent {
    public String id;
    public String key;
    public long seq;
    public String producer;
    public int partition;
    public long offset;

    public InputEvent() {}

    public InputEvent(String id, String key, long seq, String producer, int partition, long offset) {
        this.id = id;
        this.key = key;
        this.seq = seq;
        this.producer = producer;
        this.partition = partition;
        this.offset = offset;
    }

    @Override
    public String toString() {
        return "InputEvent{id=" + id + ", key=" + key + ", seq=" + seq + ", producer=" + producer
                + ", partition=" + partition + ", offset=" + offset + "}";
    }
}
