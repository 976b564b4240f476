package io.fractalrmo.registry.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Parsing, canonical and normalized forms, and the compatibility rules of each schema type. */
class SchemaTypesTest {

  static boolean backward(String type, String older, String newer) {
    return Schemas.parse(type, newer, Map.of()).isBackwardCompatible(Schemas.parse(type, older, Map.of()), "new", "old")
        .isEmpty();
  }

  @Nested
  class Json {

    @Test
    void shouldStoreTheCompactFormAndNormalizeKeyOrder() {
      ParsedSchema a = Schemas.parse("JSON", "{ \"type\" : \"object\",\n \"properties\": {\"b\":{}, \"a\":{}} }", Map.of());
      assertThat(a.canonicalString()).isEqualTo("{\"type\":\"object\",\"properties\":{\"b\":{},\"a\":{}}}");
      assertThat(a.normalize().canonicalString()).isEqualTo("{\"properties\":{\"a\":{},\"b\":{}},\"type\":\"object\"}");
    }

    @Test
    void shouldRefuseWhatTheMetaSchemaRefusesAndUnresolvedRefs() {
      assertThatThrownBy(() -> Schemas.parse("JSON", "{\"type\":5}", Map.of())).isInstanceOf(InvalidSchemaException.class);
      assertThatThrownBy(() -> Schemas.parse("JSON", "[1]", Map.of())).isInstanceOf(InvalidSchemaException.class);
      assertThatThrownBy(() -> Schemas.parse("JSON", "{\"$ref\":\"other.json\"}", Map.of()))
          .isInstanceOf(InvalidSchemaException.class).hasMessageContaining("other.json");
      assertThat(Schemas.parse("JSON", "{\"$ref\":\"other.json#/definitions/x\"}",
          Map.of("other.json", "{\"definitions\":{\"x\":{\"type\":\"string\"}}}"))).isNotNull();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        // change                                   | older                                                                      | newer                                                                          | backward
        "optional property added, closed model      | {'type':'object','properties':{},'additionalProperties':false}             | {'type':'object','properties':{'a':{'type':'string'}},'additionalProperties':false} | true",
        "optional property added, open model        | {'type':'object','properties':{}}                                          | {'type':'object','properties':{'a':{'type':'string'}}}                         | false",
        "property with empty schema added, open     | {'type':'object','properties':{}}                                          | {'type':'object','properties':{'a':{}}}                                        | true",
        "property removed, open model               | {'type':'object','properties':{'a':{'type':'string'}}}                     | {'type':'object','properties':{}}                                              | true",
        "required added without default            | {'type':'object','properties':{'a':{'type':'string'}}}                     | {'type':'object','properties':{'a':{'type':'string'}},'required':['a']}       | false",
        "required added with default               | {'type':'object','properties':{'a':{'type':'string'}}}                     | {'type':'object','properties':{'a':{'type':'string','default':''}},'required':['a']} | true",
        "integer widened to number                  | {'type':'integer'}                                                         | {'type':'number'}                                                              | true",
        "number narrowed to integer                 | {'type':'number'}                                                          | {'type':'integer'}                                                             | false",
        "maxLength decreased                        | {'type':'string','maxLength':10}                                           | {'type':'string','maxLength':5}                                                | false",
        "maxLength increased                        | {'type':'string','maxLength':5}                                            | {'type':'string','maxLength':10}                                               | true",
        "enum extended                              | {'enum':['a','b']}                                                         | {'enum':['a','b','c']}                                                         | true",
        "enum narrowed                              | {'enum':['a','b']}                                                         | {'enum':['a']}                                                                 | false",
        "type to a oneOf containing it (sum)        | {'type':'string'}                                                          | {'oneOf':[{'type':'string'},{'type':'integer'}]}                               | true",
        "oneOf loses a branch                       | {'oneOf':[{'type':'string'},{'type':'integer'}]}                           | {'oneOf':[{'type':'string'}]}                                                  | false",
        "type array widened                         | {'type':['string','null']}                                                 | {'type':['string','null','integer']}                                           | true",
        "item type changed                          | {'type':'array','items':{'type':'string'}}                                 | {'type':'array','items':{'type':'integer'}}                                    | false",
        "change inside a $ref'd definition          | {'definitions':{'x':{'type':'string'}},'properties':{'p':{'$ref':'#/definitions/x'}}} | {'definitions':{'x':{'type':'integer'}},'properties':{'p':{'$ref':'#/definitions/x'}}} | false",
    })
    void shouldFollowConfluentsJsonSchemaRules(String change, String older, String newer, boolean backward) {
      assertThat(backward("JSON", older.replace('\'', '"'), newer.replace('\'', '"'))).as(change).isEqualTo(backward);
    }
  }

  @Nested
  class Protobuf {

    static final String V1 = "syntax = \"proto3\";\npackage p;\nmessage M {\n  string a = 1;\n  int32 b = 2;\n}\n";

    @Test
    void shouldStoreWiresPrintingAndNormalizeFieldOrder() {
      ParsedSchema s = Schemas.parse("PROTOBUF", "syntax=\"proto3\"; package p; message M { int32 b = 2; string a = 1; }", Map.of());
      assertThat(s.canonicalString()).contains("message M {").contains("int32 b = 2;");
      assertThat(s.normalize().canonicalString().indexOf("string a = 1;"))
          .isLessThan(s.normalize().canonicalString().indexOf("int32 b = 2;"));
      assertThat(s.canonicalString().indexOf("int32 b = 2;")).isLessThan(s.canonicalString().indexOf("string a = 1;"));
    }

    @Test
    void shouldLinkTypesAndImportsAndRefuseUnknownOnes() {
      assertThatThrownBy(() -> Schemas.parse("PROTOBUF", "syntax = \"proto3\";\nmessage M {\n  Nope n = 1;\n}\n", Map.of()))
          .isInstanceOf(InvalidSchemaException.class);
      assertThatThrownBy(() -> Schemas.parse("PROTOBUF", "syntax = \"proto3\";\nimport \"x.proto\";\nmessage M {}\n", Map.of()))
          .isInstanceOf(InvalidSchemaException.class).hasMessageContaining("x.proto");
      assertThat(Schemas.parse("PROTOBUF", "syntax = \"proto3\";\nimport \"google/protobuf/timestamp.proto\";\n"
          + "import \"confluent/meta.proto\";\nmessage M {\n  google.protobuf.Timestamp t = 1 [(confluent.field_meta).tags = \"PII\"];\n}\n",
          Map.of())).as("Google's and Confluent's built-in files").isNotNull();
    }

    @Test
    void shouldAcceptABase64FileDescriptorProtoAsConfluentsClientsSendIt() {
      ProtobufParsedSchema s = (ProtobufParsedSchema) Schemas.parse("PROTOBUF", V1, Map.of());
      ParsedSchema again = Schemas.parse("PROTOBUF", s.serialized(), Map.of());
      assertThat(again.canonicalString()).isEqualTo(Schemas.parse("PROTOBUF",
          ProtobufDescriptors.toProtoText(s.descriptor()), Map.of()).canonicalString());
      assertThat(((ProtobufParsedSchema) again).descriptor().findMessageTypeByName("M").getFields()).hasSize(2);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        // change                           | newer body ('~' = new line)                                  | backward
        "field added                        | message M {~  string a = 1;~  int32 b = 2;~  bool c = 3;~}   | true",
        "field removed                      | message M {~  string a = 1;~}                                | true",
        "field renamed                      | message M {~  string a = 1;~  int32 bee = 2;~}              | true",
        "int32 to int64 (same group)        | message M {~  string a = 1;~  int64 b = 2;~}                | true",
        "int32 to sint32                    | message M {~  string a = 1;~  sint32 b = 2;~}               | false",
        "string to bytes                    | message M {~  bytes a = 1;~  int32 b = 2;~}                 | true",
        "string to int32                    | message M {~  int32 a = 1;~  int32 b = 2;~}                 | false",
        "two fields moved into a new oneof  | message M {~  oneof o {~    string a = 1;~    int32 b = 2;~  }~} | false",
        "message removed                    | message N {~  string a = 1;~}                                | false",
    })
    void shouldFollowConfluentsProtobufRules(String change, String body, boolean backward) {
      String newer = "syntax = \"proto3\";\npackage p;\n" + body.replace('~', '\n') + "\n";
      assertThat(backward("PROTOBUF", V1, newer)).as(change).isEqualTo(backward);
    }

    @Test
    void shouldRefuseAPackageChange() {
      assertThat(backward("PROTOBUF", V1, V1.replace("package p;", "package q;"))).isFalse();
    }
  }

  @Nested
  class Avro {

    @Test
    void shouldPrintReferencedTypesByNameAndNormalizeNamespaces() {
      String address = "{\"type\":\"record\",\"name\":\"Address\",\"namespace\":\"a\",\"fields\":[{\"name\":\"c\",\"type\":\"string\"}]}";
      ParsedSchema user = Schemas.parse("AVRO",
          "{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"a\",\"fields\":[{\"name\":\"home\",\"type\":\"Address\"}]}",
          Map.of("a.Address", address));
      assertThat(user.canonicalString()).contains("\"type\":\"Address\"").doesNotContain("\"fields\":[{\"name\":\"c\"");
      ParsedSchema spelled = Schemas.parse("AVRO",
          "{\"name\":\"a.User\",\"type\":\"record\",\"fields\":[{\"type\":\"a.Address\",\"name\":\"home\"}]}",
          Map.of("a.Address", address));
      assertThat(spelled.normalize().canonicalString()).isEqualTo(user.normalize().canonicalString());
    }
  }
}
