package io.fractalrmo.registry.schema;

import com.squareup.wire.schema.Field;
import com.squareup.wire.schema.ProtoType;
import com.squareup.wire.schema.internal.parser.EnumConstantElement;
import com.squareup.wire.schema.internal.parser.EnumElement;
import com.squareup.wire.schema.internal.parser.FieldElement;
import com.squareup.wire.schema.internal.parser.MessageElement;
import com.squareup.wire.schema.internal.parser.OneOfElement;
import com.squareup.wire.schema.internal.parser.ProtoFileElement;
import com.squareup.wire.schema.internal.parser.TypeElement;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Confluent's Protobuf compatibility rules (its {@code protobuf.diff} package), ported onto
 * wire's parsed files: fields compared by tag across the whole message (oneof membership changes
 * cannot hide a type change or a removal), scalar kinds grouped as the Protobuf guide's wire
 * compatibility allows, named types compared by name and then structurally, enums by constant.
 */
final class ProtobufSchemaDiff {

  enum Type {
    PACKAGE_CHANGED, MESSAGE_ADDED, MESSAGE_REMOVED, MESSAGE_MOVED,
    ENUM_ADDED, ENUM_REMOVED, ENUM_CONST_ADDED, ENUM_CONST_CHANGED,
    ENUM_CONST_REMOVED, FIELD_ADDED, FIELD_REMOVED, FIELD_NAME_CHANGED, FIELD_KIND_CHANGED,
    FIELD_SCALAR_KIND_CHANGED, FIELD_NAMED_TYPE_CHANGED,
    FIELD_NUMERIC_LABEL_CHANGED, FIELD_STRING_OR_BYTES_LABEL_CHANGED,
    REQUIRED_FIELD_ADDED, REQUIRED_FIELD_REMOVED,
    ONEOF_ADDED, ONEOF_REMOVED, ONEOF_FIELD_ADDED, ONEOF_FIELD_REMOVED,
    ONEOF_FIELD_MOVED_TO_TOP_LEVEL, MULTIPLE_FIELDS_MOVED_TO_ONEOF, FIELD_MOVED_TO_EXISTING_ONEOF
  }

  static final Set<Type> COMPATIBLE_CHANGES = EnumSet.of(Type.MESSAGE_ADDED, Type.MESSAGE_MOVED,
      Type.ENUM_ADDED, Type.ENUM_REMOVED, Type.ENUM_CONST_ADDED, Type.ENUM_CONST_CHANGED,
      Type.ENUM_CONST_REMOVED, Type.FIELD_ADDED, Type.FIELD_REMOVED, Type.FIELD_NAME_CHANGED,
      Type.FIELD_STRING_OR_BYTES_LABEL_CHANGED, Type.ONEOF_ADDED, Type.ONEOF_REMOVED,
      Type.ONEOF_FIELD_ADDED, Type.ONEOF_FIELD_MOVED_TO_TOP_LEVEL);

  record Difference(Type type, String path) {

    String message(String newName, String oldName) {
      String p = path.replace("%", "%%");
      String t = switch (type) {
        case PACKAGE_CHANGED -> "The package at '" + p + "' in the %s schema does not match the package in the %s schema";
        case MESSAGE_REMOVED -> "The %s schema is missing a MESSAGE type at path '" + p + "' in the %s schema";
        case FIELD_KIND_CHANGED -> "The type of a field at path '" + p + "' in the %s schema does not match the %s schema";
        case FIELD_SCALAR_KIND_CHANGED -> "The kind of a SCALAR field at path '" + p
            + "' in the %s schema does not match its kind in the %s schema";
        case FIELD_NAMED_TYPE_CHANGED -> "The type of a MESSAGE field at path '" + p
            + "' in the %s schema does not match its type in the %s schema";
        case FIELD_NUMERIC_LABEL_CHANGED -> "The label for a NUMERIC field at path '" + p
            + "' in the %s schema does not match its label in the %s schema";
        case REQUIRED_FIELD_ADDED -> "A required field  at path '" + p + "' in the %s schema is missing in the %s schema";
        case REQUIRED_FIELD_REMOVED -> "The %s schema is missing a required field at path: '" + p + "' in the %s schema";
        case ONEOF_FIELD_REMOVED -> "The %s schema is missing a oneof field at path '" + p + "' in the %s schema";
        case MULTIPLE_FIELDS_MOVED_TO_ONEOF -> "Multiple fields in the oneof at path '" + p
            + "' in the %s schema are outside a oneof in the %s schema";
        case FIELD_MOVED_TO_EXISTING_ONEOF -> "A field in the oneof at path '" + p
            + "' in the %s schema is outside an existing oneof in the %s schema";
        default -> "%s %s";
      };
      return "{errorType:\"" + type + "\", description:\"" + String.format(t, newName, oldName) + "\"}";
    }
  }

  /** What a type name resolves to on one side. */
  private record TypeInfo(String packageName, TypeElement type) {
  }

  private static final class Side {
    final Map<String, TypeInfo> types = new HashMap<>();
    String packageName;
  }

  private static final class Context {
    final Side original = new Side();
    final Side update = new Side();
    final List<Difference> diffs = new ArrayList<>();
    final Set<MessageElement> onStack;
    final List<String> path = new ArrayList<>();
    // the message scope (full names) for resolving relative type names
    String originalScope;
    String updateScope;

    Context(Set<MessageElement> onStack) {
      this.onStack = onStack;
    }

    Context sub() {
      Context c = new Context(onStack);
      c.original.types.putAll(original.types);
      c.update.types.putAll(update.types);
      c.original.packageName = original.packageName;
      c.update.packageName = update.packageName;
      c.path.addAll(path);
      c.originalScope = originalScope;
      c.updateScope = updateScope;
      return c;
    }

    void add(Type t) {
      diffs.add(new Difference(t, "#/" + String.join("/", path)));
    }

    boolean compatible() {
      return diffs.stream().allMatch(d -> COMPATIBLE_CHANGES.contains(d.type()));
    }

    /** The full name {@code name} resolves to in the current scope of one side, or null. */
    String resolve(String name, boolean isOriginal) {
      Side side = isOriginal ? original : update;
      if (name.startsWith(".")) {
        return side.types.containsKey(name.substring(1)) ? name.substring(1) : null;
      }
      String scope = isOriginal ? originalScope : updateScope;
      while (true) {
        String candidate = scope == null || scope.isEmpty() ? name : scope + "." + name;
        if (side.types.containsKey(candidate)) {
          return candidate;
        }
        if (scope == null || scope.isEmpty()) {
          return null;
        }
        int dot = scope.lastIndexOf('.');
        scope = dot < 0 ? "" : scope.substring(0, dot);
      }
    }

    TypeInfo type(String name, boolean isOriginal) {
      String full = resolve(name, isOriginal);
      return full == null ? null : (isOriginal ? original : update).types.get(full);
    }
  }

  static List<Difference> compare(ProtobufParsedSchema original, ProtobufParsedSchema update) {
    Context ctx = new Context(new HashSet<>());
    collect(ctx.original, original);
    collect(ctx.update, update);
    ProtoFileElement o = original.element();
    ProtoFileElement u = update.element();
    if (!Objects.equals(o.getPackageName(), u.getPackageName())) {
      ctx.add(Type.PACKAGE_CHANGED);
    }
    ctx.originalScope = o.getPackageName();
    ctx.updateScope = u.getPackageName();
    compareTypes(ctx, o.getTypes(), u.getTypes());
    return ctx.diffs;
  }

  private static void collect(Side side, ProtobufParsedSchema s) {
    side.packageName = s.element().getPackageName();
    for (ProtoFileElement dep : s.dependencies().values()) {
      collect(side.types, dep.getPackageName(), dep.getPackageName(), dep.getTypes());
    }
    collect(side.types, s.element().getPackageName(), s.element().getPackageName(), s.element().getTypes());
  }

  private static void collect(Map<String, TypeInfo> out, String pkg, String prefix, List<TypeElement> types) {
    for (TypeElement t : types) {
      String full = prefix == null || prefix.isEmpty() ? t.getName() : prefix + "." + t.getName();
      out.put(full, new TypeInfo(pkg == null ? "" : pkg, t));
      collect(out, pkg, full, t.getNestedTypes());
    }
  }

  private static void compareTypes(Context ctx, List<TypeElement> original, List<TypeElement> update) {
    Map<String, MessageElement> om = new HashMap<>();
    Map<String, MessageElement> um = new HashMap<>();
    Map<String, Integer> oi = new HashMap<>();
    Map<String, Integer> ui = new HashMap<>();
    Map<String, EnumElement> oe = new HashMap<>();
    Map<String, EnumElement> ue = new HashMap<>();
    index(original, om, oi, oe);
    index(update, um, ui, ue);
    Set<String> messages = new TreeSet<>(om.keySet());
    messages.addAll(um.keySet());
    for (String name : messages) {
      ctx.path.add(name);
      MessageElement o = om.get(name);
      MessageElement u = um.get(name);
      if (u == null) {
        ctx.add(Type.MESSAGE_REMOVED);
      } else if (o == null) {
        ctx.add(Type.MESSAGE_ADDED);
      } else {
        String os = ctx.originalScope;
        String us = ctx.updateScope;
        ctx.originalScope = qualify(os, name);
        ctx.updateScope = qualify(us, name);
        compareMessage(ctx, o, u);
        ctx.originalScope = os;
        ctx.updateScope = us;
        if (!Objects.equals(oi.get(name), ui.get(name))) {
          ctx.add(Type.MESSAGE_MOVED);
        }
      }
      ctx.path.remove(ctx.path.size() - 1);
    }
    Set<String> enums = new TreeSet<>(oe.keySet());
    enums.addAll(ue.keySet());
    for (String name : enums) {
      ctx.path.add(name);
      EnumElement o = oe.get(name);
      EnumElement u = ue.get(name);
      if (u == null) {
        ctx.add(Type.ENUM_REMOVED);
      } else if (o == null) {
        ctx.add(Type.ENUM_ADDED);
      } else {
        compareEnum(ctx, o, u);
      }
      ctx.path.remove(ctx.path.size() - 1);
    }
  }

  private static String qualify(String scope, String name) {
    return scope == null || scope.isEmpty() ? name : scope + "." + name;
  }

  private static void index(List<TypeElement> types, Map<String, MessageElement> messages,
      Map<String, Integer> indexes, Map<String, EnumElement> enums) {
    int i = 0;
    for (TypeElement t : types) {
      if (t instanceof MessageElement m) {
        messages.put(m.getName(), m);
        indexes.put(m.getName(), i++);
      } else if (t instanceof EnumElement e) {
        enums.put(e.getName(), e);
      }
    }
  }

  private static void compareEnum(Context ctx, EnumElement original, EnumElement update) {
    Map<Integer, EnumConstantElement> o = new HashMap<>();
    original.getConstants().forEach(c -> o.put(c.getTag(), c));
    Map<Integer, EnumConstantElement> u = new HashMap<>();
    update.getConstants().forEach(c -> u.put(c.getTag(), c));
    Set<Integer> tags = new TreeSet<>(o.keySet());
    tags.addAll(u.keySet());
    for (int tag : tags) {
      ctx.path.add(String.valueOf(tag));
      if (!u.containsKey(tag)) {
        ctx.add(Type.ENUM_CONST_REMOVED);
      } else if (!o.containsKey(tag)) {
        ctx.add(Type.ENUM_CONST_ADDED);
      } else if (!o.get(tag).getName().equals(u.get(tag).getName())) {
        ctx.add(Type.ENUM_CONST_CHANGED);
      }
      ctx.path.remove(ctx.path.size() - 1);
    }
  }

  private static void compareMessage(Context ctx, MessageElement original, MessageElement update) {
    if (ctx.onStack.add(original)) {
      try {
        compareFields(ctx, original, update);
      } finally {
        ctx.onStack.remove(original);
      }
    }
    compareTypes(ctx, original.getNestedTypes(), update.getNestedTypes());
  }

  private static void compareFields(Context ctx, MessageElement original, MessageElement update) {
    Map<Integer, FieldElement> oByTag = new HashMap<>();
    Map<Integer, String> oOneOf = new HashMap<>();
    Map<String, OneOfElement> oOneOfs = new HashMap<>();
    collectFields(original, oByTag, oOneOf, oOneOfs);
    Map<Integer, FieldElement> uByTag = new HashMap<>();
    Map<Integer, String> uOneOf = new HashMap<>();
    Map<String, OneOfElement> uOneOfs = new HashMap<>();
    collectFields(update, uByTag, uOneOf, uOneOfs);

    Set<String> completelyDeleted = new HashSet<>();
    for (Map.Entry<String, OneOfElement> e : oOneOfs.entrySet()) {
      if (!uOneOfs.containsKey(e.getKey())
          && e.getValue().getFields().stream().noneMatch(f -> uByTag.containsKey(f.getTag()))) {
        completelyDeleted.add(e.getKey());
      }
    }
    for (OneOfElement oneOf : update.getOneOfs()) {
      ctx.path.add(oneOf.getName());
      Set<String> groups = new HashSet<>();
      int movedIn = 0;
      for (FieldElement f : oneOf.getFields()) {
        int tag = f.getTag();
        if (oOneOf.containsKey(tag)) {
          groups.add("oneof:" + oOneOf.get(tag));
        } else if (oByTag.containsKey(tag)) {
          groups.add("field:" + tag);
          movedIn++;
        }
      }
      if (groups.size() > 1) {
        ctx.add(movedIn > 1 ? Type.MULTIPLE_FIELDS_MOVED_TO_ONEOF : Type.FIELD_MOVED_TO_EXISTING_ONEOF);
      }
      ctx.path.remove(ctx.path.size() - 1);
    }
    Set<String> allOneOfs = new TreeSet<>(oOneOfs.keySet());
    allOneOfs.addAll(uOneOfs.keySet());
    for (String name : allOneOfs) {
      ctx.path.add(name);
      if (!uOneOfs.containsKey(name)) {
        ctx.add(Type.ONEOF_REMOVED);
      } else if (!oOneOfs.containsKey(name)) {
        ctx.add(Type.ONEOF_ADDED);
      }
      ctx.path.remove(ctx.path.size() - 1);
    }
    Set<Integer> tags = new TreeSet<>(oByTag.keySet());
    tags.addAll(uByTag.keySet());
    for (int tag : tags) {
      FieldElement o = oByTag.get(tag);
      FieldElement u = uByTag.get(tag);
      String oo = oOneOf.get(tag);
      String uo = uOneOf.get(tag);
      if (u == null) {
        if (oo != null) {
          if (!completelyDeleted.contains(oo)) {
            at(ctx, List.of(oo, String.valueOf(tag)), Type.ONEOF_FIELD_REMOVED);
          }
        } else {
          at(ctx, List.of(String.valueOf(tag)),
              o.getLabel() == Field.Label.REQUIRED ? Type.REQUIRED_FIELD_REMOVED : Type.FIELD_REMOVED);
        }
      } else if (o == null) {
        if (uo != null) {
          at(ctx, List.of(uo, String.valueOf(tag)), Type.ONEOF_FIELD_ADDED);
        } else {
          at(ctx, List.of(String.valueOf(tag)),
              u.getLabel() == Field.Label.REQUIRED ? Type.REQUIRED_FIELD_ADDED : Type.FIELD_ADDED);
        }
      } else {
        if (oo != null && uo == null) {
          at(ctx, List.of(String.valueOf(tag)), Type.ONEOF_FIELD_MOVED_TO_TOP_LEVEL);
        }
        List<String> p = uo != null ? List.of(uo, String.valueOf(tag)) : List.of(String.valueOf(tag));
        ctx.path.addAll(p);
        compareField(ctx, o, u);
        for (int i = 0; i < p.size(); i++) {
          ctx.path.remove(ctx.path.size() - 1);
        }
      }
    }
  }

  private static void at(Context ctx, List<String> segments, Type t) {
    ctx.path.addAll(segments);
    ctx.add(t);
    for (int i = 0; i < segments.size(); i++) {
      ctx.path.remove(ctx.path.size() - 1);
    }
  }

  private static void collectFields(MessageElement m, Map<Integer, FieldElement> byTag,
      Map<Integer, String> tagToOneOf, Map<String, OneOfElement> oneOfs) {
    for (FieldElement f : m.getFields()) {
      byTag.put(f.getTag(), f);
    }
    for (OneOfElement o : m.getOneOfs()) {
      oneOfs.put(o.getName(), o);
      for (FieldElement f : o.getFields()) {
        byTag.put(f.getTag(), f);
        tagToOneOf.put(f.getTag(), o.getName());
      }
    }
  }

  private static void compareField(Context ctx, FieldElement original, FieldElement update) {
    if (!Objects.equals(original.getName(), update.getName())) {
      ctx.add(Type.FIELD_NAME_CHANGED);
    }
    compareLabelsAndTypes(ctx, original.getLabel(), update.getLabel(),
        ProtoType.get(original.getType()), ProtoType.get(update.getType()));
  }

  private enum Kind { SCALAR, MAP, MESSAGE }

  private enum ScalarKind { GENERAL_NUMBER, SIGNED_NUMBER, STRING_OR_BYTES, FIXED32, FIXED64, FLOAT, DOUBLE }

  private static void compareLabelsAndTypes(Context ctx, Field.Label ol, Field.Label ul, ProtoType ot, ProtoType ut) {
    Kind ok = kind(ctx, ot, true);
    Kind uk = kind(ctx, ut, false);
    if (ok != uk) {
      ctx.add(Type.FIELD_KIND_CHANGED);
      return;
    }
    switch (ok) {
      case SCALAR -> {
        ScalarKind os = scalarKind(ctx, ot, true);
        ScalarKind us = scalarKind(ctx, ut, false);
        if (os != us) {
          ctx.add(Type.FIELD_SCALAR_KIND_CHANGED);
        } else if (ol != null && ul != null && ol != ul) {
          ctx.add(os == ScalarKind.STRING_OR_BYTES ? Type.FIELD_STRING_OR_BYTES_LABEL_CHANGED
              : Type.FIELD_NUMERIC_LABEL_CHANGED);
        }
      }
      case MESSAGE -> compareMessageTypes(ctx, ot, ut);
      case MAP -> {
        compareLabelsAndTypes(ctx, null, null, ot.getKeyType(), ut.getKeyType());
        compareLabelsAndTypes(ctx, null, null, ot.getValueType(), ut.getValueType());
      }
      default -> {
      }
    }
  }

  private static void compareMessageTypes(Context ctx, ProtoType original, ProtoType update) {
    String of = ctx.resolve(original.toString(), true);
    String uf = ctx.resolve(update.toString(), false);
    if (of == null || uf == null) {
      // not resolvable (a well-known type, say): compare the names as written
      if (!Objects.equals(strip(original.toString()), strip(update.toString()))) {
        ctx.add(Type.FIELD_NAMED_TYPE_CHANGED);
      }
      return;
    }
    TypeInfo ot = ctx.original.types.get(of);
    TypeInfo ut = ctx.update.types.get(uf);
    String ol = local(of, ot.packageName());
    String ul = local(uf, ut.packageName());
    if (!ol.equals(ul)) {
      ctx.add(Type.FIELD_NAMED_TYPE_CHANGED);
      return;
    }
    if (ot.type() instanceof MessageElement om && ut.type() instanceof MessageElement um) {
      Context sub = ctx.sub();
      sub.diffs.clear();
      sub.originalScope = of;
      sub.updateScope = uf;
      if (sub.onStack.add(om)) {
        try {
          compareFields(sub, om, um);
        } finally {
          sub.onStack.remove(om);
        }
      }
      ctx.diffs.addAll(sub.diffs);
      if (!sub.compatible()) {
        ctx.add(Type.FIELD_NAMED_TYPE_CHANGED);
      }
    }
  }

  private static String strip(String name) {
    return name.startsWith(".") ? name.substring(1) : name;
  }

  private static String local(String full, String pkg) {
    return !pkg.isEmpty() && full.startsWith(pkg + ".") ? full.substring(pkg.length() + 1) : full;
  }

  private static Kind kind(Context ctx, ProtoType type, boolean isOriginal) {
    if (type.isScalar()) {
      return Kind.SCALAR;
    }
    if (type.isMap()) {
      return Kind.MAP;
    }
    TypeInfo info = ctx.type(type.toString(), isOriginal);
    return info != null && info.type() instanceof EnumElement ? Kind.SCALAR : Kind.MESSAGE;
  }

  private static ScalarKind scalarKind(Context ctx, ProtoType type, boolean isOriginal) {
    TypeInfo info = ctx.type(type.toString(), isOriginal);
    if (info != null && info.type() instanceof EnumElement) {
      return ScalarKind.GENERAL_NUMBER;
    }
    return switch (type.toString()) {
      case "int32", "int64", "uint32", "uint64", "bool" -> ScalarKind.GENERAL_NUMBER;
      case "sint32", "sint64" -> ScalarKind.SIGNED_NUMBER;
      case "string", "bytes" -> ScalarKind.STRING_OR_BYTES;
      case "fixed32", "sfixed32" -> ScalarKind.FIXED32;
      case "fixed64", "sfixed64" -> ScalarKind.FIXED64;
      case "float" -> ScalarKind.FLOAT;
      case "double" -> ScalarKind.DOUBLE;
      default -> throw new IllegalArgumentException("Unknown type " + type);
    };
  }
}
