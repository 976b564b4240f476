'use strict';
// Frames across languages: decodes the frames the Java serdes wrote (java-frames.json) with
// Confluent's deserializers and KafkaJS's decode, and writes frames with Confluent's serializers
// (node-frames.json) for the Java deserializers to read. One JSON line per case, then a
// closing "N passed, N failed" line.
//   node cross-frames.js <registry-url> <node_modules dir> <work dir>
const fs = require('fs');
const path = require('path');
const [url, nodeModules, work] = process.argv.slice(2);
const sr = require(path.join(nodeModules, '@confluentinc', 'schemaregistry'));
const { create } = require(path.join(nodeModules, '@bufbuild', 'protobuf'));
const example = require(path.join(nodeModules, '@confluentinc', 'schemaregistry', 'dist', 'test', 'serde', 'test', 'example_pb.js'));
const { SchemaRegistry } = require(path.join(nodeModules, '@kafkajs', 'confluent-schema-registry'));
const assert = require('assert');

const frames = JSON.parse(fs.readFileSync(path.join(work, 'java-frames.json'), 'utf8'));
const client = sr.SchemaRegistryClient.newClient({ baseURLs: [url], cacheCapacity: 100 });
const kafkajs = new SchemaRegistry({ host: url });
const plain = (v) => JSON.parse(JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? Number(x) : x)));
const out = {};

const cases = [
  ['AVRO', 'Confluent deserializer reads the Java frame', async () => {
    const d = new sr.AvroDeserializer(client, sr.SerdeType.VALUE, {});
    assert.deepStrictEqual(plain(await d.deserialize('java-avro', Buffer.from(frames.AVRO.frame, 'base64'))), frames.AVRO.value);
  }],
  ['AVRO', 'KafkaJS decodes the Java frame', async () => {
    assert.deepStrictEqual(plain(await kafkajs.decode(Buffer.from(frames.AVRO.frame, 'base64'))), frames.AVRO.value);
  }],
  ['AVRO', 'Confluent serializer writes a frame for Java', async () => {
    const s = new sr.AvroSerializer(client, sr.SerdeType.VALUE, { autoRegisterSchemas: true });
    out.AVRO = (await s.serialize('node-avro', { id: 'n-1', n: 5 })).toString('base64');
  }],
  ['JSON', 'Confluent deserializer reads the Java frame', async () => {
    const d = new sr.JsonDeserializer(client, sr.SerdeType.VALUE, {});
    assert.deepStrictEqual(plain(await d.deserialize('java-json', Buffer.from(frames.JSON.frame, 'base64'))), frames.JSON.value);
  }],
  ['JSON', 'KafkaJS decodes the Java frame', async () => {
    assert.deepStrictEqual(plain(await kafkajs.decode(Buffer.from(frames.JSON.frame, 'base64'))), frames.JSON.value);
  }],
  ['JSON', 'Confluent serializer writes a frame for Java', async () => {
    const s = new sr.JsonSerializer(client, sr.SerdeType.VALUE, { autoRegisterSchemas: true });
    out.JSON = (await s.serialize('node-json', { id: 'n-2', qty: 6 })).toString('base64');
  }],
  ['PROTOBUF', 'Confluent deserializer reads the Java frame', async () => {
    const d = new sr.ProtobufDeserializer(client, sr.SerdeType.VALUE, {});
    const m = await d.deserialize('java-proto', Buffer.from(frames.PROTOBUF.frame, 'base64'));
    assert.strictEqual(m.id, frames.PROTOBUF.value.id);
    assert.strictEqual(Number(m.n), frames.PROTOBUF.value.n);
  }],
  ['PROTOBUF', 'KafkaJS decodes the Java frame', async () => {
    const m = plain(await kafkajs.decode(Buffer.from(frames.PROTOBUF.frame, 'base64')));
    assert.strictEqual(m.id, frames.PROTOBUF.value.id);
    assert.strictEqual(Number(m.n), frames.PROTOBUF.value.n);
  }],
  ['PROTOBUF', 'Confluent serializer writes frames for Java (first and second message)', async () => {
    const s = new sr.ProtobufSerializer(client, sr.SerdeType.VALUE, { autoRegisterSchemas: true });
    s.registry.add(example.AuthorSchema);
    s.registry.add(example.PizzaSchema);
    out.PROTOBUF_AUTHOR = (await s.serialize('node-proto', create(example.AuthorSchema, { name: 'Kafka', id: 123, works: ['The Trial'] }))).toString('base64');
    const s2 = new sr.ProtobufSerializer(client, sr.SerdeType.VALUE, { autoRegisterSchemas: true });
    s2.registry.add(example.PizzaSchema);
    out.PROTOBUF_PIZZA = (await s2.serialize('node-pizza', create(example.PizzaSchema, { size: 'L', toppings: ['basil'] }))).toString('base64');
  }],
];

(async () => {
  let passed = 0, failed = 0;
  for (const [type, name, fn] of cases) {
    let error = null;
    try { await fn(); } catch (e) { error = (e && e.stack) ? e.stack.split('\n').slice(0, 3).join(' | ') : String(e); }
    console.log(JSON.stringify({ suite: 'cross', type, name, ok: error === null, error }));
    if (error === null) passed++; else failed++;
  }
  fs.writeFileSync(path.join(work, 'node-frames.json'), JSON.stringify(out));
  console.log(`cross: ${passed} passed, ${failed} failed`);
})().catch(e => { console.error('runner failed', e); process.exit(2); });
