package io.fractalrmo.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import io.fractalrmo.contracts.testing.Mothers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The contract rules of DESIGN §3, checked on every schema the catalogue names. */
class SchemaContractTest {

  static Stream<TopicSpec> recordTopics() {
    return TopicCatalog.defaults().all().stream().filter(t -> t.valueSchema().isPresent());
  }

  @Test
  void everyRecordOfTheDesignHasATopicAndASchema() {
    assertThat(recordTopics().map(t -> t.valueSchema().orElseThrow().getName()))
        .containsExactlyInAnyOrder("Task", "AspectAnalysis", "ActionItem", "ExecutionResult",
            "ValidationOutcome", "ErrorEvent", "ErrorPattern", "ProtocolRule", "RuleTrial",
            "TaskStatus", "AgentStatus", "Alert");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("recordTopics")
  void schemaReparsesFromItsOwnText(TopicSpec topic) {
    Schema schema = topic.valueSchema().orElseThrow();
    Schema reparsed = new Schema.Parser().parse(schema.toString());
    assertThat(reparsed).isEqualTo(schema);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("recordTopics")
  void isBackwardCompatibleWithTheLastReleasedVersion(TopicSpec topic) throws IOException {
    Schema current = topic.valueSchema().orElseThrow();
    Schema released = released(current.getName());
    // BACKWARD: a consumer on the new schema reads everything written with the released one.
    var result = SchemaCompatibility.checkReaderWriterCompatibility(current, released);
    assertThat(result.getType())
        .as("%s must read data written with released/v1: %s", current.getName(),
            result.getResult().getIncompatibilities())
        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
  }

  @Test
  void backwardCheckCatchesARemovedDefault() throws IOException {
    // Guard that the check above can fail: a new required field without default breaks readers.
    Schema released = released("Task");
    String broken = released.toString().replace("\"fields\":[",
        "\"fields\":[{\"name\":\"tenant\",\"type\":\"string\"},");
    Schema current = new Schema.Parser().parse(broken);
    assertThat(SchemaCompatibility.checkReaderWriterCompatibility(current, released).getType())
        .isEqualTo(SchemaCompatibilityType.INCOMPATIBLE);
  }

  @Nested
  class ConventionsOfDesignSection3 {

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.fractalrmo.contracts.SchemaContractTest#recordTopics")
    void everyOptionalFieldIsANullUnionDefaultingToNull(TopicSpec topic) {
      List<String> offenders = new ArrayList<>();
      visitFields(topic.valueSchema().orElseThrow(), (owner, field) -> {
        if (field.schema().getType() == Schema.Type.UNION) {
          boolean nullFirst = field.schema().getTypes().get(0).getType() == Schema.Type.NULL;
          if (!nullFirst || !field.hasDefaultValue() || field.defaultVal() != org.apache.avro.JsonProperties.NULL_VALUE) {
            offenders.add(owner + "." + field.name());
          }
        }
      });
      assertThat(offenders).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.fractalrmo.contracts.SchemaContractTest#recordTopics")
    void everyEnumHasADefaultSymbol(TopicSpec topic) {
      List<String> offenders = new ArrayList<>();
      visitSchemas(topic.valueSchema().orElseThrow(), s -> {
        if (s.getType() == Schema.Type.ENUM && s.getEnumDefault() == null) {
          offenders.add(s.getFullName());
        }
      });
      assertThat(offenders).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.fractalrmo.contracts.SchemaContractTest#recordTopics")
    void timestampsAreTimestampMillisAndFieldNamesSnakeCase(TopicSpec topic) {
      List<String> offenders = new ArrayList<>();
      visitFields(topic.valueSchema().orElseThrow(), (owner, field) -> {
        if (!field.name().matches("[a-z][a-z0-9_]*")) {
          offenders.add(owner + "." + field.name() + " is not snake_case");
        }
        if (field.name().endsWith("_at")) {
          Schema s = field.schema();
          if (s.getType() == Schema.Type.UNION) {
            s = s.getTypes().get(1);
          }
          if (!(s.getLogicalType() instanceof LogicalTypes.TimestampMillis)) {
            offenders.add(owner + "." + field.name() + " is not timestamp-millis");
          }
        }
      });
      assertThat(offenders).isEmpty();
    }
  }

  @Nested
  class GeneratedClassesRoundTrip {

    @Test
    void task() throws IOException {
      Task task = Mothers.aTask().setDescription("Ünïcødé ✓").setCode(null).build();
      assertThat(roundTrip(task, Task.class)).isEqualTo(task);
    }

    @Test
    void executionResultWithNestedActionItem() throws IOException {
      ExecutionResult result = Mothers.anExecutionResult().setSuccess(false)
          .setError(Mothers.anErrorDetail().build()).setErrorCategory(ErrorCategory.DEPENDENCY)
          .build();
      assertThat(roundTrip(result, ExecutionResult.class)).isEqualTo(result);
    }

    @Test
    void protocolRuleAndErrorEvent() throws IOException {
      ProtocolRule rule = Mothers.aRule().build();
      ErrorEvent event = Mothers.anErrorEvent().build();
      assertThat(roundTrip(rule, ProtocolRule.class)).isEqualTo(rule);
      assertThat(roundTrip(event, ErrorEvent.class)).isEqualTo(event);
    }
  }

  static <T extends SpecificRecord> T roundTrip(T value, Class<T> type) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    new SpecificDatumWriter<T>(value.getSchema()).write(value, encoder);
    encoder.flush();
    BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(out.toByteArray(), null);
    return new SpecificDatumReader<>(type).read(null, decoder);
  }

  static Schema released(String name) throws IOException {
    try (InputStream in = SchemaContractTest.class.getResourceAsStream("/released/v1/" + name + ".avsc")) {
      assertThat(in).as("released/v1/%s.avsc", name).isNotNull();
      return new Schema.Parser().parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  interface FieldVisitor {
    void visit(String owner, Schema.Field field);
  }

  static void visitFields(Schema root, FieldVisitor visitor) {
    visitSchemas(root, s -> {
      if (s.getType() == Schema.Type.RECORD) {
        s.getFields().forEach(f -> visitor.visit(s.getName(), f));
      }
    });
  }

  static void visitSchemas(Schema root, java.util.function.Consumer<Schema> visitor) {
    visit(root, visitor, new java.util.HashSet<>());
  }

  private static void visit(Schema s, java.util.function.Consumer<Schema> visitor,
      java.util.Set<String> seen) {
    switch (s.getType()) {
      case RECORD -> {
        if (!seen.add(s.getFullName())) {
          return;
        }
        visitor.accept(s);
        s.getFields().forEach(f -> visit(f.schema(), visitor, seen));
      }
      case ENUM -> {
        if (seen.add(s.getFullName())) {
          visitor.accept(s);
        }
      }
      case UNION -> s.getTypes().forEach(t -> visit(t, visitor, seen));
      case ARRAY -> visit(s.getElementType(), visitor, seen);
      case MAP -> visit(s.getValueType(), visitor, seen);
      default -> visitor.accept(s);
    }
  }
}
