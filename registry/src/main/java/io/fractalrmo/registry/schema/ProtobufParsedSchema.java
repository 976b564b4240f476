package io.fractalrmo.registry.schema;

import com.google.protobuf.Descriptors;
import com.squareup.wire.schema.Location;
import com.squareup.wire.schema.internal.parser.EnumConstantElement;
import com.squareup.wire.schema.internal.parser.EnumElement;
import com.squareup.wire.schema.internal.parser.FieldElement;
import com.squareup.wire.schema.internal.parser.MessageElement;
import com.squareup.wire.schema.internal.parser.OneOfElement;
import com.squareup.wire.schema.internal.parser.OptionElement;
import com.squareup.wire.schema.internal.parser.ProtoFileElement;
import com.squareup.wire.schema.internal.parser.ProtoParser;
import com.squareup.wire.schema.internal.parser.TypeElement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Protobuf schema (a .proto file) parsed with Square's wire-schema, as Confluent does; its
 * canonical string is wire's printing of the file. It is linked into protobuf-java descriptors
 * (imports served by the schema's references, Google's well-known types built in), which
 * validates every type name and gives the serde its {@link Descriptors.FileDescriptor}.
 * Compatibility follows Confluent's Protobuf rules ({@link ProtobufSchemaDiff}).
 */
public final class ProtobufParsedSchema implements ParsedSchema {

  static final String MAIN = "schema.proto";

  private final ProtoFileElement element;
  private final Map<String, ProtoFileElement> dependencies;
  private final Map<String, String> resolved;
  private final Descriptors.FileDescriptor descriptor;
  private final String canonical;

  private ProtobufParsedSchema(ProtoFileElement element, Map<String, ProtoFileElement> dependencies,
      Map<String, String> resolved, Descriptors.FileDescriptor descriptor) {
    this.element = element;
    this.dependencies = dependencies;
    this.resolved = resolved;
    this.descriptor = descriptor;
    this.canonical = element.toSchema();
  }

  static ProtobufParsedSchema parse(String text, Map<String, String> resolved) {
    Map<String, ProtoFileElement> deps = new LinkedHashMap<>();
    for (Map.Entry<String, String> r : resolved.entrySet()) {
      deps.put(r.getKey(), parseElement(r.getKey(), r.getValue()));
    }
    ProtoFileElement main = parseElement(MAIN, text);
    return new ProtobufParsedSchema(main, deps, resolved, ProtobufDescriptors.link(MAIN, main, deps));
  }

  /**
   * Parses .proto text, or a base64 serialized FileDescriptorProto (what Confluent's clients send
   * with {@code format=serialized}, printed back as .proto text first).
   */
  static ProtoFileElement parseElement(String name, String text) {
    try {
      return ProtoParser.Companion.parse(Location.get(name), text);
    } catch (RuntimeException e) {
      String fromDescriptor = ProtobufDescriptors.fromSerialized(text);
      if (fromDescriptor != null) {
        return ProtoParser.Companion.parse(Location.get(name), fromDescriptor);
      }
      throw new InvalidSchemaException("Invalid schema " + name + ": " + e.getMessage(), e);
    }
  }

  /** This file as a base64 serialized FileDescriptorProto ({@code format=serialized}). */
  public String serialized() {
    return java.util.Base64.getEncoder().encodeToString(ProtobufDescriptors.resolved(descriptor).toByteArray());
  }

  public ProtoFileElement element() {
    return element;
  }

  Map<String, ProtoFileElement> dependencies() {
    return dependencies;
  }

  /** The linked descriptor of this file (its imports linked too). */
  public Descriptors.FileDescriptor descriptor() {
    return descriptor;
  }

  @Override
  public String schemaType() {
    return Schemas.PROTOBUF;
  }

  @Override
  public String canonicalString() {
    return canonical;
  }

  /**
   * Imports sorted, options sorted by name, fields and enum constants in tag order. Types keep
   * their order: a type's position is part of the message indexes records carry.
   */
  @Override
  public ParsedSchema normalize() {
    List<String> imports = new ArrayList<>(element.getImports());
    imports.sort(null);
    List<String> publicImports = new ArrayList<>(element.getPublicImports());
    publicImports.sort(null);
    ProtoFileElement n = new ProtoFileElement(element.getLocation(), element.getPackageName(),
        element.getSyntax(), imports, publicImports, element.getWeakImports(),
        normalizeTypes(element.getTypes()), element.getServices(), element.getExtendDeclarations(),
        sortedOptions(element.getOptions()));
    return parse(n.toSchema(), resolved);
  }

  private static List<TypeElement> normalizeTypes(List<TypeElement> types) {
    List<TypeElement> out = new ArrayList<>();
    for (TypeElement t : types) {
      if (t instanceof MessageElement m) {
        // wire prints a message's members in source order (by location): renumber the locations
        List<FieldElement> sortedFields = new ArrayList<>(m.getFields());
        sortedFields.sort(Comparator.comparingInt(FieldElement::getTag));
        List<FieldElement> fields = new ArrayList<>();
        int line = 1;
        for (FieldElement f : sortedFields) {
          fields.add(normalizeField(f, line++));
        }
        List<OneOfElement> oneOfs = new ArrayList<>();
        for (OneOfElement o : m.getOneOfs()) {
          List<FieldElement> sortedOf = new ArrayList<>(o.getFields());
          sortedOf.sort(Comparator.comparingInt(FieldElement::getTag));
          int oneOfLine = line++;
          List<FieldElement> of = new ArrayList<>();
          for (FieldElement f : sortedOf) {
            of.add(normalizeField(f, line++));
          }
          oneOfs.add(new OneOfElement(o.getName(), o.getDocumentation(), of, o.getGroups(),
              sortedOptions(o.getOptions()), o.getLocation().at(oneOfLine, 1)));
        }
        out.add(new MessageElement(m.getLocation(), m.getName(), m.getDocumentation(),
            normalizeTypes(m.getNestedTypes()), sortedOptions(m.getOptions()), m.getReserveds(), fields,
            oneOfs, m.getExtensions(), m.getGroups(), m.getExtendDeclarations()));
      } else if (t instanceof EnumElement e) {
        List<EnumConstantElement> sortedConstants = new ArrayList<>(e.getConstants());
        sortedConstants.sort(Comparator.comparingInt(EnumConstantElement::getTag));
        List<EnumConstantElement> constants = new ArrayList<>();
        int line = 1;
        for (EnumConstantElement c : sortedConstants) {
          constants.add(new EnumConstantElement(c.getLocation().at(line++, 1), c.getName(), c.getTag(),
              c.getDocumentation(), sortedOptions(c.getOptions())));
        }
        out.add(new EnumElement(e.getLocation(), e.getName(), e.getDocumentation(),
            sortedOptions(e.getOptions()), constants, e.getReserveds()));
      } else {
        out.add(t);
      }
    }
    return out;
  }

  private static FieldElement normalizeField(FieldElement f, int line) {
    return new FieldElement(f.getLocation().at(line, 1), f.getLabel(), f.getType(), f.getName(), f.getDefaultValue(),
        f.getJsonName(), f.getTag(), f.getDocumentation(), sortedOptions(f.getOptions()));
  }

  private static List<OptionElement> sortedOptions(List<OptionElement> options) {
    List<OptionElement> sorted = new ArrayList<>(options);
    sorted.sort(Comparator.comparing(OptionElement::getName));
    return sorted;
  }

  @Override
  public List<String> isBackwardCompatible(ParsedSchema previous, String thisName, String previousName) {
    if (!(previous instanceof ProtobufParsedSchema old)) {
      return new ArrayList<>(List.of("Incompatible because of different schema type"));
    }
    return ProtobufSchemaDiff.compare(old, this).stream()
        .filter(d -> !ProtobufSchemaDiff.COMPATIBLE_CHANGES.contains(d.type()))
        .map(d -> d.message(thisName, previousName))
        .collect(java.util.stream.Collectors.toList());
  }
}
