package io.fractalrmo.streams.merge;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.streams.JsonSerde;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

class PendingPlanSerdeTest {

  private final PendingPlanSerde serde = new PendingPlanSerde();

  @Property
  void shouldRoundTripEveryPendingPlan(@ForAll long stream, @ForAll long wall, @ForAll long first,
      @ForAll long last) {
    PendingPlan p = new PendingPlan(stream, wall, first, last);
    byte[] bytes = serde.serializer().serialize("t", p);
    assertThat(bytes).hasSize(33);
    assertThat(serde.deserializer().deserialize("t", bytes)).isEqualTo(p);
  }

  @Property
  void shouldReadTheJsonOfEarlierReleasesFromAChangelog(@ForAll long stream, @ForAll long wall,
      @ForAll long first, @ForAll long last) {
    PendingPlan p = new PendingPlan(stream, wall, first, last);
    byte[] legacy = JsonSerde.of(PendingPlan.class).serializer().serialize("t", p);
    assertThat(serde.deserializer().deserialize("t", legacy)).isEqualTo(p);
  }
}
