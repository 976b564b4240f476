"""Confluent's Python client (Debian's python3-confluent-kafka) against our registry.

Schema Registry client calls and serdes for JSON Schema and Protobuf, the legacy
confluent_kafka.avro serde for Avro. Frames written by the Java serdes (java-frames.json) are
decoded here; frames written here go to python-frames.json for the Java side to decode.
Prints one JSON line per case and a closing "N passed, N failed" line.

    /usr/bin/python3 confluent_kafka_flows.py <registry-url> <work-dir>
"""
import base64
import json
import os
import sys
import time
import traceback

from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

URL, WORK = sys.argv[1], sys.argv[2]
RUN = format(int(time.time() * 1000), 'x')
client = SchemaRegistryClient({'url': URL})
results = []


def case(type_name, name):
    def wrap(fn):
        try:
            fn()
            results.append({'suite': 'python', 'type': type_name, 'name': name, 'ok': True, 'error': None})
        except Exception as e:  # noqa: BLE001 - every failure is a failed case, reported
            results.append({'suite': 'python', 'type': type_name, 'name': name, 'ok': False,
                            'error': '%s: %s | %s' % (type(e).__name__, e, traceback.format_exc().splitlines()[-3:])})
        return fn
    return wrap


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def status_of(fn):
    try:
        fn()
    except SchemaRegistryError as e:
        return e.http_status_code, e.error_code
    return None


java_frames = json.load(open(os.path.join(WORK, 'java-frames.json')))
python_frames = {}

# ------------------------------------------------------------------ JSON Schema
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer  # noqa: E402

ORDER = json.dumps({'title': 'PyOrder', 'type': 'object',
                    'properties': {'id': {'type': 'string'}, 'qty': {'type': 'integer', 'minimum': 1}},
                    'required': ['id', 'qty'], 'additionalProperties': False})
json_subject = 'py-%s-json-value' % RUN
state = {}


@case('JSON', 'register and get the schema by id')
def _():
    state['id'] = client.register_schema(json_subject, Schema(ORDER, 'JSON'))
    got = client.get_schema(state['id'])
    expect(got.schema_type == 'JSON', got.schema_type)
    expect(json.loads(got.schema_str) == json.loads(ORDER), got.schema_str)


@case('JSON', 'look-up by subject, latest version, version 1')
def _():
    expect(client.lookup_schema(json_subject, Schema(ORDER, 'JSON')).schema_id == state['id'], 'lookup')
    latest = client.get_latest_version(json_subject)
    expect(latest.schema_id == state['id'] and latest.version == 1, latest)
    expect(client.get_version(json_subject, 1).schema_id == state['id'], 'version 1')
    expect(client.get_versions(json_subject) == [1], 'versions')


@case('JSON', 'serializer and deserializer round trip')
def _():
    ser = JSONSerializer(ORDER, client)
    de = JSONDeserializer(ORDER)
    ctx = SerializationContext('py-%s-json' % RUN, MessageField.VALUE)
    data = ser({'id': 'o-1', 'qty': 2}, ctx)
    expect(data[0] == 0, 'magic byte')
    expect(de(data, ctx) == {'id': 'o-1', 'qty': 2}, 'round trip')
    python_frames['JSON'] = base64.b64encode(data).decode()


@case('JSON', 'serializer refuses an invalid payload')
def _():
    ser = JSONSerializer(ORDER, client)
    try:
        ser({'id': 'o-1', 'qty': 0}, SerializationContext('py-%s-json' % RUN, MessageField.VALUE))
    except Exception:  # noqa: BLE001 - SerializationError in 1.7
        return
    raise AssertionError('an invalid payload was written')


@case('JSON', 'incompatible evolution refused (test_compatibility and 409)')
def _():
    bad = json.dumps({'type': 'object', 'properties': {'id': {'type': 'integer'}}, 'additionalProperties': False})
    expect(client.test_compatibility(json_subject, Schema(bad, 'JSON')) is False, 'test_compatibility')
    expect(status_of(lambda: client.register_schema(json_subject, Schema(bad, 'JSON'))) == (409, 409), 'status')


@case('JSON', 'references')
def _():
    addr_subject = 'py-%s-address' % RUN
    client.register_schema(addr_subject, Schema(json.dumps(
        {'$id': 'py-address.json', 'type': 'object', 'properties': {'city': {'type': 'string'}}}), 'JSON'))
    user = Schema(json.dumps({'type': 'object', 'properties': {'home': {'$ref': 'py-address.json'}}}), 'JSON',
                  [SchemaReference('py-address.json', addr_subject, 1)])
    sid = client.register_schema('py-%s-customer' % RUN, user)
    got = client.get_schema(sid)
    expect(len(got.references) == 1 and got.references[0].subject == addr_subject, got.references)


@case('JSON', 'decode a frame written by the Java serializer')
def _():
    data = base64.b64decode(java_frames['JSON']['frame'])
    de = JSONDeserializer(java_frames['JSON']['schema'])
    expect(de(data, SerializationContext('java-json', MessageField.VALUE)) == java_frames['JSON']['value'], 'value')


@case('JSON', 'soft and permanent delete')
def _():
    subject = 'py-%s-deleted' % RUN
    client.register_schema(subject, Schema(ORDER, 'JSON'))
    expect(client.delete_version(subject, 1) == 1, 'soft delete of a version')
    expect(status_of(lambda: client.get_version(subject, 1)) == (404, 40401), 'no live version left')
    other = 'py-%s-deleted-too' % RUN
    client.register_schema(other, Schema(ORDER, 'JSON'))
    # 1.7 soft-deletes, then deletes permanently
    expect(client.delete_subject(other, permanent=True) == [1], 'subject deleted')
    expect(status_of(lambda: client.get_versions(other)) == (404, 40401), 'gone')


# ------------------------------------------------------------------ Protobuf
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer  # noqa: E402

pool = descriptor_pool.DescriptorPool()
FDP = descriptor_pb2.FieldDescriptorProto


def add_file(name, package, messages, deps=()):
    f = descriptor_pb2.FileDescriptorProto(name=name, package=package, syntax='proto3', dependency=list(deps))
    for mname, fields in messages:
        m = f.message_type.add(name=mname)
        for fname, num, ftype, type_name in fields:
            fd = m.field.add(name=fname, number=num, type=ftype, label=FDP.LABEL_OPTIONAL)
            if type_name:
                fd.type_name = type_name
    pool.AddSerializedFile(f.SerializeToString())


add_file('pyshop/address.proto', 'pyshop', [('Address', [('city', 1, FDP.TYPE_STRING, None)])])
add_file('pyshop/order.proto', 'pyshop', [
    ('Order', [('id', 1, FDP.TYPE_STRING, None), ('qty', 2, FDP.TYPE_INT32, None),
               ('ship_to', 3, FDP.TYPE_MESSAGE, '.pyshop.Address')])],
         deps=['pyshop/address.proto'])
add_file('javashop/ping.proto', 'javashop', [('Ping', [('id', 1, FDP.TYPE_STRING, None), ('n', 2, FDP.TYPE_INT64, None)])])
factory = message_factory.MessageFactory(pool)
Order = factory.GetPrototype(pool.FindMessageTypeByName('pyshop.Order'))
Ping = factory.GetPrototype(pool.FindMessageTypeByName('javashop.Ping'))
proto_topic = 'py-%s-proto' % RUN


@case('PROTOBUF', 'serializer registers the file and its import as a reference')
def _():
    ser = ProtobufSerializer(Order, client)
    msg = Order(id='o-1', qty=3)
    msg.ship_to.city = 'Lyon'
    data = ser(msg, SerializationContext(proto_topic, MessageField.VALUE))
    expect(data[0] == 0 and data[5] == 0, 'header and message index [0]')
    state['proto'] = data
    python_frames['PROTOBUF'] = base64.b64encode(data).decode()
    latest = client.get_latest_version(proto_topic + '-value')
    expect(latest.schema.schema_type == 'PROTOBUF', latest.schema.schema_type)
    # 1.7 hands references back as the JSON dicts it received
    subjects = [r['subject'] if isinstance(r, dict) else r.subject for r in latest.schema.references]
    expect(subjects == ['pyshop/address.proto'], latest.schema.references)
    expect(client.get_latest_version('pyshop/address.proto').version == 1, 'reference registered')


@case('PROTOBUF', 'deserializer round trip')
def _():
    back = ProtobufDeserializer(Order)(state['proto'], SerializationContext(proto_topic, MessageField.VALUE))
    expect(back.id == 'o-1' and back.qty == 3 and back.ship_to.city == 'Lyon', back)


@case('PROTOBUF', 'look-up of the registered schema by subject')
def _():
    sid = int.from_bytes(state['proto'][1:5], 'big')
    got = client.get_schema(sid)
    found = client.lookup_schema(proto_topic + '-value', got)
    expect(found.schema_id == sid and found.version == 1, found)


@case('PROTOBUF', 'incompatible evolution refused')
def _():
    text = 'syntax = "proto3";\npackage pyshop;\nimport "pyshop/address.proto";\n' \
           'message Order {\n  int64 id = 1;\n  int32 qty = 2;\n  Address ship_to = 3;\n}\n'
    schema = Schema(text, 'PROTOBUF', [SchemaReference('pyshop/address.proto', 'pyshop/address.proto', 1)])
    expect(client.test_compatibility(proto_topic + '-value', schema) is False, 'test_compatibility')
    expect(status_of(lambda: client.register_schema(proto_topic + '-value', schema)) == (409, 409), 'status')


@case('PROTOBUF', 'decode a frame written by the Java serializer')
def _():
    data = base64.b64decode(java_frames['PROTOBUF']['frame'])
    back = ProtobufDeserializer(Ping)(data, SerializationContext('java-proto', MessageField.VALUE))
    expect(back.id == java_frames['PROTOBUF']['value']['id'] and back.n == java_frames['PROTOBUF']['value']['n'], back)


# ------------------------------------------------------------------ Avro (legacy serde; the new one needs fastavro)
@case('AVRO', 'legacy confluent_kafka.avro: encode, decode, and decode a Java frame')
def _():
    import avro.schema
    from confluent_kafka.avro import CachedSchemaRegistryClient
    from confluent_kafka.avro.serializer.message_serializer import MessageSerializer
    legacy = CachedSchemaRegistryClient({'url': URL})
    ms = MessageSerializer(legacy)
    parse = getattr(avro.schema, 'parse', None) or avro.schema.Parse
    schema = parse(json.dumps({'type': 'record', 'name': 'PyTask', 'namespace': 'py',
                               'fields': [{'name': 'id', 'type': 'string'}, {'name': 'n', 'type': 'int'}]}))
    data = ms.encode_record_with_schema('py-%s-avro' % RUN, schema, {'id': 't-1', 'n': 7})
    expect(ms.decode_message(data) == {'id': 't-1', 'n': 7}, 'round trip')
    python_frames['AVRO'] = base64.b64encode(data).decode()
    java = ms.decode_message(base64.b64decode(java_frames['AVRO']['frame']))
    expect(java == java_frames['AVRO']['value'], java)


for r in results:
    print(json.dumps(r))
json.dump(python_frames, open(os.path.join(WORK, 'python-frames.json'), 'w'))
passed = sum(1 for r in results if r['ok'])
print('python: %d passed, %d failed' % (passed, len(results) - passed))
