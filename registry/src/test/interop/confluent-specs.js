'use strict';
// Runs the specs that Confluent ships compiled inside @confluentinc/schemaregistry against our
// registry: its end-to-end client spec (e2e/schemaregistry-client.spec.js) and its serde specs
// for Avro, JSON Schema and Protobuf (test/serde/*.spec.js), which normally use a mock client
// ('mock://'): here every call goes to the registry under test. Prints one JSON line per case
// and a closing "N passed, N failed, N skipped" line.
//   node confluent-specs.js <registry-url> <node_modules dir> [skip.json]
const fs = require('fs');
const path = require('path');
const Module = require('module');

const [url, nodeModules, skipFile] = process.argv.slice(2);
const shimPath = path.join(__dirname, 'jest-shim.js');
const shim = require(shimPath);
const origResolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@jest/globals') return shimPath;
  // the specs import the package's own modules by source path (a path mapping in its repo)
  if (request.startsWith('@confluentinc/schemaregistry/') && !request.includes('/dist/')) {
    request = path.join(nodeModules, '@confluentinc', 'schemaregistry', 'dist',
      request.substring('@confluentinc/schemaregistry/'.length));
  }
  return origResolve.call(this, request, ...rest);
};
const pkg = path.join(nodeModules, '@confluentinc', 'schemaregistry', 'dist');
require(path.join(pkg, 'test', 'test-constants.js')).clientConfig.baseURLs = [url];

// The serde specs were written for a fresh mock registry per case: empty ours through its
// public API before each case (hard delete of every subject, referrers first; defaults back).
async function resetRegistry() {
  const call = async (method, p, body) => {
    const r = await fetch(url + p, { method, headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: body ? JSON.stringify(body) : undefined });
    return r.ok ? r.json() : null;
  };
  for (let round = 0; round < 10; round++) {
    const subjects = (await call('GET', '/subjects?deleted=true')) || [];
    if (subjects.length === 0) break;
    for (const s of subjects) {
      const e = encodeURIComponent(s);
      await call('DELETE', `/subjects/${e}`);
      await call('DELETE', `/subjects/${e}?permanent=true`);
      await call('DELETE', `/config/${e}`);
    }
  }
  await call('PUT', '/config', { compatibility: 'BACKWARD' });
  await call('PUT', '/mode', { mode: 'READWRITE' });
}

const skip = new Map(Object.entries(skipFile ? JSON.parse(fs.readFileSync(skipFile, 'utf8')) : {}));

function loadPatched(file) {
  let src = fs.readFileSync(file, 'utf8');
  src = src.split("'mock://'").join(JSON.stringify(url));
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  m._compile(src, file);
}

const suites = [
  ['AVRO', 'test/serde/avro.spec.js'],
  ['JSON', 'test/serde/json.spec.js'],
  ['PROTOBUF', 'test/serde/protobuf.spec.js'],
  ['client-e2e', 'e2e/schemaregistry-client.spec.js'],
];

(async () => {
  let passed = 0, failed = 0, skipped = 0;
  for (const [type, file] of suites) {
    shim.reset();
    loadPatched(path.join(pkg, file));
    const results = await shim.run(new Map([...skip].filter(([k]) => k.startsWith(type + ': ')).map(([k, v]) => [k.substring(type.length + 2), v])),
      null, type === 'client-e2e' ? null : resetRegistry);
    for (const r of results) {
      console.log(JSON.stringify({ suite: 'confluent', type, name: r.name, ok: r.ok, error: r.error }));
      if (r.ok === true) passed++; else if (r.ok === false) failed++; else skipped++;
    }
  }
  console.log(`confluent: ${passed} passed, ${failed} failed, ${skipped} skipped`);
})().catch(e => { console.error('runner failed', e); process.exit(2); });
