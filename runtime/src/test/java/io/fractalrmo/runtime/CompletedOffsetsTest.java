package io.fractalrmo.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** The finished offsets above a committed offset, in its metadata. */
class CompletedOffsetsTest {

  @Property
  void roundTripsAnySetWithinTheSpan(@ForAll @LongRange(min = 0, max = 1L << 40) long committed,
      @ForAll @Size(max = 300) Set<@IntRange(min = 1, max = CompletedOffsets.MAX_SPAN) Integer> ahead) {
    TreeSet<Long> offsets = new TreeSet<>();
    ahead.forEach(i -> offsets.add(committed + i));
    String metadata = CompletedOffsets.encode(committed, offsets, "executor-host-3");
    assertThat(CompletedOffsets.decode(committed, metadata)).isEqualTo(offsets);
    assertThat(CompletedOffsets.owner(metadata)).contains("executor-host-3");
    assertThat(metadata.length()).as("far below offset.metadata.max.bytes (4096)")
        .isLessThan(3_000);
  }

  @Test
  void shouldReadEmptyAndForeignMetadata() {
    assertThat(CompletedOffsets.decode(5, "")).isEmpty();
    assertThat(CompletedOffsets.decode(5, null)).isEmpty();
    assertThat(CompletedOffsets.decode(5, CompletedOffsets.encode(5, List.of(), "a"))).isEmpty();
    assertThat(CompletedOffsets.owner("")).isEmpty();
    assertThatThrownBy(() -> CompletedOffsets.decode(5, "written by someone else"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void shouldRefuseOffsetsOutsideTheSpan() {
    assertThatThrownBy(() -> CompletedOffsets.encode(10, List.of(10L)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> CompletedOffsets.encode(10,
        List.of(11L + CompletedOffsets.MAX_SPAN))).isInstanceOf(IllegalArgumentException.class);
  }
}
