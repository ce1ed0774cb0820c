package harness.job;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The incompatible-state variant's counter: deployed under uid "per-key-counter-v2" with its
 * state in a different shape (one String "count|lastSeq" instead of two longs).
 *
 * <p>Restoring a savepoint of the good job into it fails (the good job's "per-key-counter" state
 * cannot be mapped) unless allowNonRestoredState is set; with it, the counter silently starts from
 * zero again, which a checker sees as counts going back to 1.
 */
public class PerKeyCounterV2 extends KeyedProcessFunction<String, InputEvent, OutputEvent> {
    private static final long serialVersionUID = 1L;

    private transient ValueState<String> packed;

    @Override
    public void open(OpenContext ctx) {
        packed = getRuntimeContext().getState(new ValueStateDescriptor<>("count-and-seq", Types.STRING));
    }

    @Override
    public void processElement(InputEvent in, Context ctx, Collector<OutputEvent> out) throws Exception {
        String s = packed.value();
        long c = 0L;
        if (s != null) {
            int bar = s.indexOf('|');
            c = Long.parseLong(bar < 0 ? s : s.substring(0, bar));
        }
        long next = c + 1L;
        packed.update(next + "|" + in.seq);
        out.collect(new OutputEvent(in.id, in.key, next, in.seq, in.partition, in.offset));
    }
}
