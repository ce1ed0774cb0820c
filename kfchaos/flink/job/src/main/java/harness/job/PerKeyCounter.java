package harness.job;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Per-key running count (operator uid "per-key-counter"). State: count (long) and last seq (long).
 *
 * <p>Behaviour switches for the variants that keep the good job's state layout:
 * crash (throw on the poison key) and slow (sleep per record).
 */
public class PerKeyCounter extends KeyedProcessFunction<String, InputEvent, OutputEvent> {
    private static final long serialVersionUID = 1L;

    /** Thrown by the crash variant; its name shows up in /jobs/:id/exceptions. */
    public static final class PoisonRecordException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        PoisonRecordException(String msg) {
            super(msg);
        }
    }

    private final String poisonKey; // null = never crash
    private final long slowMs;      // 0 = no sleep

    private transient ValueState<Long> count;
    private transient ValueState<Long> lastSeq;

    public PerKeyCounter(String poisonKey, long slowMs) {
        this.poisonKey = poisonKey;
        this.slowMs = slowMs;
    }

    @Override
    public void open(OpenContext ctx) {
        count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        lastSeq = getRuntimeContext().getState(new ValueStateDescriptor<>("last-seq", Types.LONG));
    }

    @Override
    public void processElement(InputEvent in, Context ctx, Collector<OutputEvent> out) throws Exception {
        if (poisonKey != null && poisonKey.equals(in.key)) {
            throw new PoisonRecordException("crash variant: poison record id=" + in.id + " key=" + in.key
                    + " at " + in.partition + "@" + in.offset);
        }
        if (slowMs > 0) {
            Thread.sleep(slowMs);
        }
        Long c = count.value();
        long next = (c == null ? 0L : c) + 1L;
        count.update(next);
        lastSeq.update(in.seq);
        out.collect(new OutputEvent(in.id, in.key, next, in.seq, in.partition, in.offset));
    }
}
