package io.fractalrmo.registry.serde;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.Language;
import io.fractalrmo.contracts.Task;
import io.fractalrmo.registry.server.SchemaRegistryServer;
import java.time.Instant;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.apache.kafka.common.serialization.Serde;

/** Any valid Task — random and unicode strings, empty and large fields, nulls — survives serialize → deserialize. */
class TaskRoundTripPropertyTest {

  static SchemaRegistryServer registry;
  static Serde<Task> serde;

  @BeforeContainer
  static void up() {
    registry = SchemaRegistryServer.startInMemory(0);
    serde = FractalSerdes.value(Task.class, FractalSerdes.config(registry.url()));
  }

  @AfterContainer
  static void down() {
    serde.close();
    registry.close();
  }

  @Property(tries = 300)
  void anyTaskRoundTrips(@ForAll("tasks") Task task) {
    byte[] bytes = serde.serializer().serialize("prop.tasks", task);
    assertThat(bytes[0]).isZero();
    assertThat(serde.deserializer().deserialize("prop.tasks", bytes)).isEqualTo(task);
  }

  /** Valid Unicode text (any code point but lone surrogates, which UTF-8 cannot carry), empty to large. */
  static Arbitrary<String> text() {
    Arbitrary<String> codePoints = Arbitraries.integers().between(0, 0x10FFFF)
        .filter(cp -> cp < 0xD800 || cp > 0xDFFF)
        .list().ofMaxSize(64)
        .map(cps -> {
          StringBuilder sb = new StringBuilder();
          cps.forEach(sb::appendCodePoint);
          return sb.toString();
        });
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(2, Arbitraries.just("")),
        net.jqwik.api.Tuple.of(6, codePoints),
        net.jqwik.api.Tuple.of(3, Arbitraries.strings().alpha().numeric().ofMaxLength(40)),
        net.jqwik.api.Tuple.of(1, Arbitraries.strings().withChars("ab\u00e9\u4e2d\n\t\"\\").ofMinLength(5_000).ofMaxLength(80_000)));
  }

  @Provide
  Arbitrary<Task> tasks() {
    Arbitrary<String> nullableText = text().injectNull(0.3);
    Arbitrary<Map<String, String>> attributes = Arbitraries.maps(text(), text()).ofMaxSize(5);
    Arbitrary<Instant> instants = Arbitraries.longs().between(-62_135_596_800_000L, 253_402_300_799_000L)
        .map(Instant::ofEpochMilli);
    return Combinators.combine(
            Combinators.combine(text(), text(), Arbitraries.integers(), nullableText, nullableText, nullableText)
                .as((id, desc, prio, code, entry, test) -> Task.newBuilder().setTaskId(id).setDescription(desc)
                    .setPriority(prio).setCode(code).setEntryPoint(entry).setTestCode(test)),
            Arbitraries.longs(), Arbitraries.integers().injectNull(0.4), Arbitraries.integers(), text(),
            instants, attributes)
        .as((b, limit, mem, level, source, at, attrs) -> b.setLanguage(Language.PYTHON)
            .setTimeLimitMs(limit).setMemoryLimitMb(mem).setValidationLevel(level).setSource(source)
            .setSubmittedAt(at).setAttributes(attrs).build());
  }
}
