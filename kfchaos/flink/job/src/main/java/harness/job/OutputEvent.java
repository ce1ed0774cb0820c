package harness.job;

/** One output record: the input id, its key, the running per-key count and the input position. */
public class OutputEvent {
    public String id;
    public String key;
    public long count;
    public long seq;
    public int inPartition;
    public long inOffset;

    public OutputEvent() {}

    public OutputEvent(String id, String key, long count, long seq, int inPartition, long inOffset) {
        this.id = id;
        this.key = key;
        this.count = count;
        this.seq = seq;
        this.inPartition = inPartition;
        this.inOffset = inOffset;
    }

    @Override
    public String toString() {
        return "OutputEvent{id=" + id + ", key=" + key + ", count=" + count + ", seq=" + seq
                + ", inPartition=" + inPartition + ", inOffset=" + inOffset + "}";
    }
}
