'use strict';
// KafkaJS's registry client (@kafkajs/confluent-schema-registry) against our registry, for
// Avro, JSON Schema and Protobuf: register, re-register (same id), look-up by subject/version,
// encode/decode round trip, compatible and incompatible evolution, references, poison bytes.
// Prints one JSON line per case and a closing "N passed, N failed" line.
//   node kafkajs-flows.js <registry-url> <node_modules dir>
const path = require('path');
const [url, nodeModules] = process.argv.slice(2);
const { SchemaRegistry, SchemaType } = require(path.join(nodeModules, '@kafkajs', 'confluent-schema-registry'));
const assert = require('assert');

const run = Date.now().toString(36);
const registry = new SchemaRegistry({ host: url });

const fixtures = {
  AVRO: {
    type: SchemaType.AVRO,
    v1: JSON.stringify({ type: 'record', name: 'Order', namespace: 'kjs', fields: [{ name: 'id', type: 'string' }] }),
    v2: JSON.stringify({ type: 'record', name: 'Order', namespace: 'kjs', fields: [{ name: 'id', type: 'string' }, { name: 'qty', type: 'int', default: 1 }] }),
    bad: JSON.stringify({ type: 'record', name: 'Order', namespace: 'kjs', fields: [{ name: 'id', type: 'int' }] }),
    value: { id: 'o-1' },
    refName: 'kjs.Address',
    ref: JSON.stringify({ type: 'record', name: 'Address', namespace: 'kjs', fields: [{ name: 'city', type: 'string' }] }),
    usesRef: JSON.stringify({ type: 'record', name: 'Customer', namespace: 'kjs', fields: [{ name: 'name', type: 'string' }, { name: 'home', type: 'kjs.Address' }] }),
    refValue: { name: 'Ada', home: { city: 'London' } },
  },
  JSON: {
    type: SchemaType.JSON,
    v1: JSON.stringify({ type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false }),
    v2: JSON.stringify({ type: 'object', properties: { id: { type: 'string' }, qty: { type: 'integer' } }, required: ['id'], additionalProperties: false }),
    bad: JSON.stringify({ type: 'object', properties: { id: { type: 'integer' } }, required: ['id'], additionalProperties: false }),
    value: { id: 'o-1' },
    refName: 'address.json',
    ref: JSON.stringify({ $id: 'address.json', type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
    usesRef: JSON.stringify({ type: 'object', properties: { name: { type: 'string' }, home: { $ref: 'address.json' } }, required: ['name', 'home'] }),
    refValue: { name: 'Ada', home: { city: 'London' } },
  },
  PROTOBUF: {
    type: SchemaType.PROTOBUF,
    v1: 'syntax = "proto3";\npackage kjs;\nmessage Order {\n  string id = 1;\n}\n',
    v2: 'syntax = "proto3";\npackage kjs;\nmessage Order {\n  string id = 1;\n  int32 qty = 2;\n}\n',
    bad: 'syntax = "proto3";\npackage kjs;\nmessage Order {\n  int64 id = 1;\n}\n',
    value: { id: 'o-1' },
    refName: 'kjs/address.proto',
    ref: 'syntax = "proto3";\npackage kjs;\nmessage Address {\n  string city = 1;\n}\n',
    usesRef: 'syntax = "proto3";\npackage kjs;\nimport "kjs/address.proto";\nmessage Customer {\n  string name = 1;\n  Address home = 2;\n}\n',
    refValue: { name: 'Ada', home: { city: 'London' } },
  },
};

async function main() {
  let passed = 0, failed = 0;
  for (const [typeName, f] of Object.entries(fixtures)) {
    const subject = `kjs-${run}-${typeName.toLowerCase()}-value`;
    const state = {};
    const cases = [
      ['register', async () => {
        state.id = (await registry.register({ type: f.type, schema: f.v1 }, { subject })).id;
        assert.ok(state.id > 0);
      }],
      ['re-register gives the same id', async () => {
        assert.strictEqual((await registry.register({ type: f.type, schema: f.v1 }, { subject })).id, state.id);
      }],
      ['look-up latest id by subject', async () => {
        assert.strictEqual(await registry.getLatestSchemaId(subject), state.id);
      }],
      ['look-up id by subject and version', async () => {
        assert.strictEqual(await registry.getRegistryId(subject, 1), state.id);
      }],
      ['look-up schema by id', async () => {
        const s = await registry.getSchema(state.id);
        assert.ok(s);
      }],
      ['encode/decode round trip', async () => {
        const bytes = await registry.encode(state.id, f.value);
        assert.strictEqual(bytes[0], 0);
        assert.strictEqual(bytes.readInt32BE(1), state.id);
        assert.deepStrictEqual(JSON.parse(JSON.stringify(await registry.decode(bytes))), f.value);
      }],
      ['compatible evolution registers a new version', async () => {
        const id2 = (await registry.register({ type: f.type, schema: f.v2 }, { subject })).id;
        assert.notStrictEqual(id2, state.id);
        assert.strictEqual(await registry.getLatestSchemaId(subject), id2);
      }],
      ['incompatible evolution is refused with 409', async () => {
        await assert.rejects(registry.register({ type: f.type, schema: f.bad }, { subject }),
          e => /409|incompatible/i.test(String(e && (e.status || e.message))) || (e && e.status === 409));
      }],
      ['references: register the referenced schema and one that uses it, round trip', async () => {
        const refSubject = `kjs-${run}-${typeName.toLowerCase()}-ref`;
        await registry.register({ type: f.type, schema: f.ref }, { subject: refSubject });
        const id = (await registry.register({ type: f.type, schema: f.usesRef,
          references: [{ name: f.refName, subject: refSubject, version: 1 }] }, { subject: `kjs-${run}-${typeName.toLowerCase()}-customer` })).id;
        const bytes = await registry.encode(id, f.refValue);
        assert.deepStrictEqual(JSON.parse(JSON.stringify(await registry.decode(bytes))), f.refValue);
      }],
      ['poison bytes: unknown schema id is refused', async () => {
        const bytes = Buffer.from([0, 0x7f, 0xff, 0xff, 0x00, 1, 2]);
        await assert.rejects(registry.decode(bytes));
      }],
    ];
    for (const [name, fn] of cases) {
      let error = null;
      try { await fn(); } catch (e) { error = (e && e.stack) ? e.stack.split('\n').slice(0, 3).join(' | ') : String(e); }
      console.log(JSON.stringify({ suite: 'kafkajs', type: typeName, name, ok: error === null, error }));
      if (error === null) passed++; else failed++;
    }
  }
  console.log(`kafkajs: ${passed} passed, ${failed} failed`);
}
main().catch(e => { console.error('runner failed', e); process.exit(2); });
