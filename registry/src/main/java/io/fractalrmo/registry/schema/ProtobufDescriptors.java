package io.fractalrmo.registry.schema;

import com.google.protobuf.DescriptorProtos;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.OneofDescriptorProto;
import com.google.protobuf.Descriptors;
import com.squareup.wire.Syntax;
import com.squareup.wire.schema.Field;
import com.squareup.wire.schema.ProtoType;
import com.squareup.wire.schema.internal.parser.EnumConstantElement;
import com.squareup.wire.schema.internal.parser.EnumElement;
import com.squareup.wire.schema.internal.parser.FieldElement;
import com.squareup.wire.schema.internal.parser.MessageElement;
import com.squareup.wire.schema.internal.parser.OneOfElement;
import com.squareup.wire.schema.internal.parser.OptionElement;
import com.squareup.wire.schema.internal.parser.ProtoFileElement;
import com.squareup.wire.schema.internal.parser.TypeElement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Between wire's parsed .proto files and protobuf-java's descriptors: {@link #link} turns a file
 * and its imports into linked {@link Descriptors.FileDescriptor}s (protobuf-java resolves the type
 * names, so a name that resolves nowhere is refused); {@link #toProtoText} prints a descriptor of
 * a generated (or dynamic) message back as .proto text, for the serializer to register.
 */
public final class ProtobufDescriptors {

  /** Google's well-known types, built into protobuf-java: importable without a reference. */
  static final Map<String, Descriptors.FileDescriptor> WELL_KNOWN = Map.ofEntries(
      Map.entry("google/protobuf/any.proto", com.google.protobuf.AnyProto.getDescriptor()),
      Map.entry("google/protobuf/api.proto", com.google.protobuf.ApiProto.getDescriptor()),
      Map.entry("google/protobuf/duration.proto", com.google.protobuf.DurationProto.getDescriptor()),
      Map.entry("google/protobuf/empty.proto", com.google.protobuf.EmptyProto.getDescriptor()),
      Map.entry("google/protobuf/field_mask.proto", com.google.protobuf.FieldMaskProto.getDescriptor()),
      Map.entry("google/protobuf/source_context.proto", com.google.protobuf.SourceContextProto.getDescriptor()),
      Map.entry("google/protobuf/struct.proto", com.google.protobuf.StructProto.getDescriptor()),
      Map.entry("google/protobuf/timestamp.proto", com.google.protobuf.TimestampProto.getDescriptor()),
      Map.entry("google/protobuf/type.proto", com.google.protobuf.TypeProto.getDescriptor()),
      Map.entry("google/protobuf/wrappers.proto", com.google.protobuf.WrappersProto.getDescriptor()),
      Map.entry("google/protobuf/descriptor.proto", DescriptorProtos.getDescriptor()));

  private static final Map<String, FieldDescriptorProto.Type> SCALARS = Map.ofEntries(
      Map.entry("double", FieldDescriptorProto.Type.TYPE_DOUBLE),
      Map.entry("float", FieldDescriptorProto.Type.TYPE_FLOAT),
      Map.entry("int64", FieldDescriptorProto.Type.TYPE_INT64),
      Map.entry("uint64", FieldDescriptorProto.Type.TYPE_UINT64),
      Map.entry("int32", FieldDescriptorProto.Type.TYPE_INT32),
      Map.entry("fixed64", FieldDescriptorProto.Type.TYPE_FIXED64),
      Map.entry("fixed32", FieldDescriptorProto.Type.TYPE_FIXED32),
      Map.entry("bool", FieldDescriptorProto.Type.TYPE_BOOL),
      Map.entry("string", FieldDescriptorProto.Type.TYPE_STRING),
      Map.entry("bytes", FieldDescriptorProto.Type.TYPE_BYTES),
      Map.entry("uint32", FieldDescriptorProto.Type.TYPE_UINT32),
      Map.entry("sfixed32", FieldDescriptorProto.Type.TYPE_SFIXED32),
      Map.entry("sfixed64", FieldDescriptorProto.Type.TYPE_SFIXED64),
      Map.entry("sint32", FieldDescriptorProto.Type.TYPE_SINT32),
      Map.entry("sint64", FieldDescriptorProto.Type.TYPE_SINT64));

  private ProtobufDescriptors() {
  }

  /** Links {@code main} (named {@code name}) with its imports; dependencies come first in {@code deps}. */
  /** Confluent's own option files, built into its registry and clients like Google's. */
  static final Map<String, String> CONFLUENT_BUILT_IN = Map.of(
      "confluent/meta.proto", """
          syntax = "proto3";
          package confluent;
          import "google/protobuf/descriptor.proto";
          option go_package = "github.com/confluentinc/schema-registry/protobuf-provider/src/main/resources/confluent";
          option java_package = "io.confluent.protobuf";
          option java_outer_classname = "MetaProto";
          message Meta {
            string doc = 1;
            map<string, string> params = 2;
            repeated string tags = 3;
          }
          extend google.protobuf.FileOptions { Meta file_meta = 1088; }
          extend google.protobuf.MessageOptions { Meta message_meta = 1088; }
          extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
          extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }
          extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }
          """,
      "confluent/type/decimal.proto", """
          syntax = "proto3";
          package confluent.type;
          option go_package = "github.com/confluentinc/schema-registry/protobuf-provider/src/main/resources/confluent/type";
          option java_package = "io.confluent.protobuf.type";
          option java_outer_classname = "DecimalProto";
          message Decimal {
            bytes value = 1;
            uint32 precision = 2;
            int32 scale = 3;
          }
          """);

  private static volatile Map<String, Descriptors.FileDescriptor> builtIn;

  /** Google's well-known files and Confluent's: importable without a reference, never registered. */
  public static boolean isBuiltIn(String fileName) {
    return WELL_KNOWN.containsKey(fileName) || CONFLUENT_BUILT_IN.containsKey(fileName);
  }

  static Map<String, Descriptors.FileDescriptor> builtIn() {
    Map<String, Descriptors.FileDescriptor> b = builtIn;
    if (b == null) {
      Map<String, Descriptors.FileDescriptor> m = new HashMap<>(WELL_KNOWN);
      for (Map.Entry<String, String> e : CONFLUENT_BUILT_IN.entrySet()) {
        m.put(e.getKey(), build(e.getKey(), ProtobufParsedSchema.parseElement(e.getKey(), e.getValue()), m));
      }
      builtIn = b = Map.copyOf(m);
    }
    return b;
  }

  /**
   * The file's FileDescriptorProto with every field's type and fully qualified type name filled
   * in from the linked descriptor (what protoc emits; the parsed form leaves message and enum
   * names as written, for protobuf-java to resolve).
   */
  static FileDescriptorProto resolved(Descriptors.FileDescriptor file) {
    FileDescriptorProto.Builder b = file.toProto().toBuilder();
    for (int i = 0; i < file.getMessageTypes().size(); i++) {
      resolve(file.getMessageTypes().get(i), b.getMessageTypeBuilder(i));
    }
    return b.build();
  }

  private static void resolve(Descriptors.Descriptor d, DescriptorProto.Builder b) {
    for (int i = 0; i < b.getFieldCount(); i++) {
      FieldDescriptorProto.Builder fb = b.getFieldBuilder(i);
      Descriptors.FieldDescriptor f = d.findFieldByNumber(fb.getNumber());
      fb.setType(f.getType().toProto());
      if (f.getType() == Descriptors.FieldDescriptor.Type.MESSAGE || f.getType() == Descriptors.FieldDescriptor.Type.GROUP) {
        fb.setTypeName("." + f.getMessageType().getFullName());
      } else if (f.getType() == Descriptors.FieldDescriptor.Type.ENUM) {
        fb.setTypeName("." + f.getEnumType().getFullName());
      }
    }
    for (int i = 0; i < d.getNestedTypes().size(); i++) {
      resolve(d.getNestedTypes().get(i), b.getNestedTypeBuilder(i));
    }
  }

  /** The .proto text of a base64 serialized FileDescriptorProto, or null when {@code text} is not one. */
  static String fromSerialized(String text) {
    try {
      byte[] bytes = java.util.Base64.getDecoder().decode(text.trim());
      FileDescriptorProto proto = FileDescriptorProto.parseFrom(bytes);
      if (proto.getMessageTypeCount() == 0 && proto.getEnumTypeCount() == 0 && proto.getName().isEmpty()) {
        return null;
      }
      return toProtoText(proto);
    } catch (IllegalArgumentException | com.google.protobuf.InvalidProtocolBufferException e) {
      return null;
    }
  }

  static Descriptors.FileDescriptor link(String name, ProtoFileElement main, Map<String, ProtoFileElement> deps) {
    Map<String, Descriptors.FileDescriptor> built = new HashMap<>(builtIn());
    for (Map.Entry<String, ProtoFileElement> d : deps.entrySet()) {
      if (!built.containsKey(d.getKey())) {
        built.put(d.getKey(), build(d.getKey(), d.getValue(), built));
      }
    }
    return build(name, main, built);
  }

  private static Descriptors.FileDescriptor build(String name, ProtoFileElement file,
      Map<String, Descriptors.FileDescriptor> built) {
    FileDescriptorProto proto = toProto(name, file);
    List<Descriptors.FileDescriptor> deps = new ArrayList<>();
    for (String dep : proto.getDependencyList()) {
      Descriptors.FileDescriptor d = built.get(dep);
      if (d == null) {
        throw new InvalidSchemaException("Invalid schema: import \"" + dep + "\" of " + name
            + " is neither a reference of the schema nor a well-known type");
      }
      deps.add(d);
    }
    try {
      return Descriptors.FileDescriptor.buildFrom(proto, deps.toArray(new Descriptors.FileDescriptor[0]));
    } catch (Descriptors.DescriptorValidationException | RuntimeException e) {
      throw new InvalidSchemaException("Invalid schema " + name + ": " + e.getMessage(), e);
    }
  }

  static FileDescriptorProto toProto(String name, ProtoFileElement file) {
    FileDescriptorProto.Builder f = FileDescriptorProto.newBuilder().setName(name);
    if (file.getPackageName() != null) {
      f.setPackage(file.getPackageName());
    }
    boolean proto3 = file.getSyntax() == Syntax.PROTO_3;
    if (proto3) {
      f.setSyntax("proto3");
    }
    for (String i : file.getImports()) {
      f.addDependency(i);
    }
    for (String i : file.getPublicImports()) {
      f.addPublicDependency(f.getDependencyCount());
      f.addDependency(i);
    }
    DescriptorProtos.FileOptions.Builder options = DescriptorProtos.FileOptions.newBuilder();
    for (OptionElement o : file.getOptions()) {
      String v = String.valueOf(o.getValue());
      switch (o.getName()) {
        case "java_package" -> options.setJavaPackage(v);
        case "java_outer_classname" -> options.setJavaOuterClassname(v);
        case "java_multiple_files" -> options.setJavaMultipleFiles(Boolean.parseBoolean(v));
        case "go_package" -> options.setGoPackage(v);
        case "csharp_namespace" -> options.setCsharpNamespace(v);
        default -> {
          // other options do not change how messages are encoded
        }
      }
    }
    if (options.getAllFields().size() > 0) {
      f.setOptions(options);
    }
    for (TypeElement t : file.getTypes()) {
      if (t instanceof MessageElement m) {
        f.addMessageType(message(m, proto3));
      } else if (t instanceof EnumElement e) {
        f.addEnumType(enumType(e));
      }
    }
    return f.build();
  }

  private static DescriptorProto message(MessageElement m, boolean proto3) {
    DescriptorProto.Builder b = DescriptorProto.newBuilder().setName(m.getName());
    List<FieldDescriptorProto> synthetic = new ArrayList<>();
    for (FieldElement fe : m.getFields()) {
      FieldDescriptorProto.Builder fb = field(fe, proto3, b);
      if (proto3 && fe.getLabel() == Field.Label.OPTIONAL) {
        fb.setProto3Optional(true);
        synthetic.add(fb.build());
      } else {
        b.addField(fb);
      }
    }
    int oneofIndex = 0;
    for (OneOfElement o : m.getOneOfs()) {
      b.addOneofDecl(OneofDescriptorProto.newBuilder().setName(o.getName()));
      for (FieldElement fe : o.getFields()) {
        b.addField(field(fe, proto3, b).setOneofIndex(oneofIndex));
      }
      oneofIndex++;
    }
    // proto3 'optional' fields each get a synthetic oneof, declared after the real ones
    for (FieldDescriptorProto f : synthetic) {
      String oneofName = "_" + f.getName();
      b.addOneofDecl(OneofDescriptorProto.newBuilder().setName(oneofName));
      b.addField(f.toBuilder().setOneofIndex(oneofIndex++));
    }
    for (TypeElement t : m.getNestedTypes()) {
      if (t instanceof MessageElement nm) {
        b.addNestedType(message(nm, proto3));
      } else if (t instanceof EnumElement ne) {
        b.addEnumType(enumType(ne));
      }
    }
    for (OptionElement o : m.getOptions()) {
      if (o.getName().equals("map_entry")) {
        b.setOptions(DescriptorProtos.MessageOptions.newBuilder().setMapEntry(Boolean.parseBoolean(String.valueOf(o.getValue()))));
      }
    }
    return b.build();
  }

  private static FieldDescriptorProto.Builder field(FieldElement fe, boolean proto3, DescriptorProto.Builder owner) {
    FieldDescriptorProto.Builder fb = FieldDescriptorProto.newBuilder()
        .setName(fe.getName()).setNumber(fe.getTag());
    ProtoType type = ProtoType.get(fe.getType());
    if (type.isMap()) {
      String entryName = camel(fe.getName()) + "Entry";
      DescriptorProto.Builder entry = DescriptorProto.newBuilder().setName(entryName)
          .setOptions(DescriptorProtos.MessageOptions.newBuilder().setMapEntry(true));
      entry.addField(typed(FieldDescriptorProto.newBuilder().setName("key").setNumber(1)
          .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL), type.getKeyType().toString()));
      entry.addField(typed(FieldDescriptorProto.newBuilder().setName("value").setNumber(2)
          .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL), type.getValueType().toString()));
      owner.addNestedType(entry);
      return fb.setLabel(FieldDescriptorProto.Label.LABEL_REPEATED).setTypeName(entryName)
          .setType(FieldDescriptorProto.Type.TYPE_MESSAGE);
    }
    Field.Label label = fe.getLabel();
    fb.setLabel(label == Field.Label.REPEATED ? FieldDescriptorProto.Label.LABEL_REPEATED
        : label == Field.Label.REQUIRED ? FieldDescriptorProto.Label.LABEL_REQUIRED
        : FieldDescriptorProto.Label.LABEL_OPTIONAL);
    typed(fb, fe.getType());
    if (fe.getDefaultValue() != null) {
      fb.setDefaultValue(fe.getDefaultValue());
    }
    if (fe.getJsonName() != null) {
      fb.setJsonName(fe.getJsonName());
    }
    DescriptorProtos.FieldOptions.Builder options = DescriptorProtos.FieldOptions.newBuilder();
    for (OptionElement o : fe.getOptions()) {
      String v = String.valueOf(o.getValue());
      if (o.getName().equals("packed")) {
        options.setPacked(Boolean.parseBoolean(v));
      } else if (o.getName().equals("deprecated")) {
        options.setDeprecated(Boolean.parseBoolean(v));
      }
    }
    if (options.getAllFields().size() > 0) {
      fb.setOptions(options);
    }
    return fb;
  }

  private static FieldDescriptorProto.Builder typed(FieldDescriptorProto.Builder fb, String typeName) {
    FieldDescriptorProto.Type scalar = SCALARS.get(typeName);
    if (scalar != null) {
      return fb.setType(scalar);
    }
    // message or enum: protobuf-java resolves the (possibly relative) name and its kind when linking
    return fb.setTypeName(typeName);
  }

  private static String camel(String name) {
    StringBuilder sb = new StringBuilder();
    boolean up = true;
    for (char c : name.toCharArray()) {
      if (c == '_') {
        up = true;
      } else {
        sb.append(up ? Character.toUpperCase(c) : c);
        up = false;
      }
    }
    return sb.toString();
  }

  private static EnumDescriptorProto enumType(EnumElement e) {
    EnumDescriptorProto.Builder b = EnumDescriptorProto.newBuilder().setName(e.getName());
    for (EnumConstantElement c : e.getConstants()) {
      b.addValue(EnumValueDescriptorProto.newBuilder().setName(c.getName()).setNumber(c.getTag()));
    }
    for (OptionElement o : e.getOptions()) {
      if (o.getName().equals("allow_alias")) {
        b.setOptions(DescriptorProtos.EnumOptions.newBuilder().setAllowAlias(Boolean.parseBoolean(String.valueOf(o.getValue()))));
      }
    }
    return b.build();
  }

  // ------------------------------------------------------------------ descriptor -> .proto text

  /** Prints {@code file} as .proto source (maps as {@code map<K, V>}, proto3 optional kept). */
  public static String toProtoText(Descriptors.FileDescriptor file) {
    return toProtoText(file.toProto());
  }

  /** Prints a FileDescriptorProto as .proto source; type names stay as the descriptor has them. */
  static String toProtoText(FileDescriptorProto p) {
    StringBuilder sb = new StringBuilder();
    boolean proto3 = "proto3".equals(p.getSyntax());
    sb.append("syntax = \"").append(proto3 ? "proto3" : "proto2").append("\";\n");
    if (!p.getPackage().isEmpty()) {
      sb.append("package ").append(p.getPackage()).append(";\n");
    }
    for (int i = 0; i < p.getDependencyCount(); i++) {
      sb.append("import ").append(p.getPublicDependencyList().contains(i) ? "public " : "")
          .append('"').append(p.getDependency(i)).append("\";\n");
    }
    DescriptorProtos.FileOptions o = p.getOptions();
    if (o.hasJavaPackage()) {
      sb.append("option java_package = \"").append(o.getJavaPackage()).append("\";\n");
    }
    if (o.hasJavaOuterClassname()) {
      sb.append("option java_outer_classname = \"").append(o.getJavaOuterClassname()).append("\";\n");
    }
    if (o.hasJavaMultipleFiles()) {
      sb.append("option java_multiple_files = ").append(o.getJavaMultipleFiles()).append(";\n");
    }
    if (o.hasGoPackage()) {
      sb.append("option go_package = \"").append(o.getGoPackage()).append("\";\n");
    }
    for (DescriptorProto m : p.getMessageTypeList()) {
      printMessage(m, proto3, sb, "");
    }
    for (EnumDescriptorProto e : p.getEnumTypeList()) {
      printEnum(e, sb, "");
    }
    return sb.toString();
  }

  private static void printMessage(DescriptorProto m, boolean proto3, StringBuilder sb, String indent) {
    sb.append(indent).append("message ").append(m.getName()).append(" {\n");
    String in = indent + "  ";
    Map<String, DescriptorProto> mapEntries = new HashMap<>();
    for (DescriptorProto n : m.getNestedTypeList()) {
      if (n.getOptions().getMapEntry()) {
        mapEntries.put(n.getName(), n);
      }
    }
    Map<Integer, List<FieldDescriptorProto>> byOneof = new LinkedHashMap<>();
    for (FieldDescriptorProto f : m.getFieldList()) {
      if (f.hasOneofIndex() && !f.getProto3Optional()) {
        byOneof.computeIfAbsent(f.getOneofIndex(), k -> new ArrayList<>()).add(f);
        continue;
      }
      printField(f, proto3, sb, in, false, mapEntries);
    }
    for (Map.Entry<Integer, List<FieldDescriptorProto>> e : byOneof.entrySet()) {
      sb.append(in).append("oneof ").append(m.getOneofDecl(e.getKey()).getName()).append(" {\n");
      for (FieldDescriptorProto f : e.getValue()) {
        printField(f, proto3, sb, in + "  ", true, mapEntries);
      }
      sb.append(in).append("}\n");
    }
    for (DescriptorProto n : m.getNestedTypeList()) {
      if (!n.getOptions().getMapEntry()) {
        printMessage(n, proto3, sb, in);
      }
    }
    for (EnumDescriptorProto e : m.getEnumTypeList()) {
      printEnum(e, sb, in);
    }
    sb.append(indent).append("}\n");
  }

  private static DescriptorProto mapEntry(FieldDescriptorProto f, Map<String, DescriptorProto> entries) {
    if (f.getLabel() != FieldDescriptorProto.Label.LABEL_REPEATED || !f.hasTypeName()) {
      return null;
    }
    String t = f.getTypeName();
    return entries.get(t.substring(t.lastIndexOf('.') + 1));
  }

  private static void printField(FieldDescriptorProto f, boolean proto3, StringBuilder sb, String in,
      boolean inOneof, Map<String, DescriptorProto> mapEntries) {
    sb.append(in);
    DescriptorProto entry = mapEntry(f, mapEntries);
    if (entry != null) {
      sb.append("map<").append(typeName(entry.getField(0))).append(", ")
          .append(typeName(entry.getField(1))).append("> ");
    } else {
      if (!inOneof) {
        if (f.getLabel() == FieldDescriptorProto.Label.LABEL_REPEATED) {
          sb.append("repeated ");
        } else if (f.getLabel() == FieldDescriptorProto.Label.LABEL_REQUIRED) {
          sb.append("required ");
        } else if (!proto3 || f.getProto3Optional()) {
          sb.append("optional ");
        }
      }
      sb.append(typeName(f)).append(' ');
    }
    sb.append(f.getName()).append(" = ").append(f.getNumber());
    List<String> opts = new ArrayList<>();
    if (f.hasDefaultValue()) {
      String d = f.getDefaultValue();
      opts.add("default = " + (f.getType() == FieldDescriptorProto.Type.TYPE_STRING ? "\"" + d.replace("\"", "\\\"") + "\"" : d));
    }
    if (f.getOptions().hasPacked()) {
      opts.add("packed = " + f.getOptions().getPacked());
    }
    if (f.getOptions().hasDeprecated()) {
      opts.add("deprecated = " + f.getOptions().getDeprecated());
    }
    if (!opts.isEmpty()) {
      sb.append(" [").append(String.join(", ", opts)).append(']');
    }
    sb.append(";\n");
  }

  private static String typeName(FieldDescriptorProto f) {
    if (f.hasTypeName()) {
      return f.getTypeName();
    }
    return f.getType().name().substring("TYPE_".length()).toLowerCase(Locale.ROOT);
  }

  private static void printEnum(EnumDescriptorProto e, StringBuilder sb, String indent) {
    sb.append(indent).append("enum ").append(e.getName()).append(" {\n");
    if (e.getOptions().getAllowAlias()) {
      sb.append(indent).append("  option allow_alias = true;\n");
    }
    for (EnumValueDescriptorProto v : e.getValueList()) {
      sb.append(indent).append("  ").append(v.getName()).append(" = ").append(v.getNumber()).append(";\n");
    }
    sb.append(indent).append("}\n");
  }

  // ------------------------------------------------------------------ message indexes

  /** The path of {@code message} in its file: index among top-level messages, then among nested ones. */
  public static List<Integer> indexes(Descriptors.Descriptor message) {
    List<Integer> out = new ArrayList<>();
    Descriptors.Descriptor d = message;
    while (d != null) {
      Descriptors.Descriptor parent = d.getContainingType();
      List<Descriptors.Descriptor> siblings = messages(parent == null ? d.getFile().getMessageTypes() : parent.getNestedTypes());
      out.add(0, siblings.indexOf(d));
      d = parent;
    }
    return out;
  }

  /** The message at {@code indexes} in {@code file}; throws IllegalArgumentException when there is none. */
  public static Descriptors.Descriptor byIndexes(Descriptors.FileDescriptor file, List<Integer> indexes) {
    if (indexes.isEmpty()) {
      throw new IllegalArgumentException("no message index");
    }
    List<Descriptors.Descriptor> level = messages(file.getMessageTypes());
    Descriptors.Descriptor d = null;
    for (int i : indexes) {
      if (i < 0 || i >= level.size()) {
        throw new IllegalArgumentException("message index " + indexes + " does not name a message of "
            + file.getName() + " (" + level.size() + " at that level)");
      }
      d = level.get(i);
      level = messages(d.getNestedTypes());
    }
    return d;
  }

  /** Declared messages only: map entry types are not counted in message indexes (Confluent counts wire's types). */
  private static List<Descriptors.Descriptor> messages(List<Descriptors.Descriptor> all) {
    return all.stream().filter(m -> !m.getOptions().getMapEntry()).toList();
  }
}
