'use strict';
// A small stand-in for '@jest/globals' (describe/it/expect/hooks), so that the compiled specs
// @confluentinc/schemaregistry ships run unchanged without installing jest. Semantics follow
// jest's: toEqual ignores undefined properties and object types, compares buffers, maps, sets.
const util = require('util');

const root = { name: '', tests: [], children: [], beforeEach: [], afterEach: [], parent: null };
let current = root;

function describe(name, fn) {
  const block = { name, tests: [], children: [], beforeEach: [], afterEach: [], parent: current };
  current.children.push(block);
  const saved = current;
  current = block;
  try { fn(); } finally { current = saved; }
}
function it(name, fn) { current.tests.push({ name, fn }); }
function beforeEach(fn) { current.beforeEach.push(fn); }
function afterEach(fn) { current.afterEach.push(fn); }

function isObj(x) { return x !== null && typeof x === 'object'; }
function equals(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a === 'bigint' || typeof b === 'bigint') return a == b; // eslint-disable-line eqeqeq
  if (!isObj(a) || !isObj(b)) return false;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equals(a[i], b[i])) return false;
    return true;
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !equals(v, b.get(k))) return false;
    return true;
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) if (![...b].some(w => equals(v, w))) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (a[k] === undefined && b[k] === undefined) continue;
    if (!equals(a[k], b[k])) return false;
  }
  return true;
}
function show(x) { return util.inspect(x, { depth: 6, breakLength: 160 }); }

function expect(actual) {
  const fail = (msg) => { throw new Error(msg); };
  const m = (negate) => ({
    toEqual: (e) => { if (equals(actual, e) === negate) fail(`expected ${show(actual)} ${negate ? 'not ' : ''}to equal ${show(e)}`); },
    toStrictEqual: (e) => { if (equals(actual, e) === negate) fail(`expected ${show(actual)} to strictly equal ${show(e)}`); },
    toBe: (e) => { if (Object.is(actual, e) === negate) fail(`expected ${show(actual)} ${negate ? 'not ' : ''}to be ${show(e)}`); },
    toBeDefined: () => { if ((actual !== undefined) === negate) fail(`expected ${show(actual)} to be defined`); },
    toBeUndefined: () => { if ((actual === undefined) === negate) fail(`expected ${show(actual)} to be undefined`); },
    toBeNull: () => { if ((actual === null) === negate) fail(`expected ${show(actual)} to be null`); },
    toBeTruthy: () => { if (!!actual === negate) fail(`expected ${show(actual)} to be truthy`); },
    toBeGreaterThan: (e) => { if ((actual > e) === negate) fail(`expected ${show(actual)} > ${show(e)}`); },
    toBeCloseTo: (e, digits = 2) => { if ((Math.abs(actual - e) < Math.pow(10, -digits) / 2) === negate) fail(`expected ${actual} close to ${e}`); },
    toBeInstanceOf: (c) => { if ((actual instanceof c) === negate) fail(`expected instance of ${c && c.name}`); },
    toContain: (e) => { if (actual.includes(e) === negate) fail(`expected ${show(actual)} to contain ${show(e)}`); },
    toHaveLength: (n) => { if ((actual.length === n) === negate) fail(`expected length ${n}, got ${actual.length}`); },
    toThrow: () => {
      let threw = false;
      try { actual(); } catch (e) { threw = true; }
      if (threw === negate) fail('expected a throw');
    },
  });
  const matchers = m(false);
  matchers.not = m(true);
  matchers.rejects = {
    toThrow: async () => {
      let threw = false;
      try { await (typeof actual === 'function' ? actual() : actual); } catch (e) { threw = true; }
      if (!threw) fail('expected the promise to reject');
    },
  };
  matchers.resolves = {
    toEqual: async (e) => { const v = await actual; if (!equals(v, e)) fail(`expected ${show(v)} to equal ${show(e)}`); },
  };
  return matchers;
}

/** Runs every registered test; returns [{name, ok, error}]. Tests in `skip` (by full name) are reported, not run. */
async function run(skip = new Map(), only = null, between = null) {
  const results = [];
  async function walk(block, prefix, hooksBefore, hooksAfter) {
    const before = [...hooksBefore, ...block.beforeEach];
    const after = [...block.afterEach, ...hooksAfter];
    const name = prefix ? (block.name ? `${prefix} > ${block.name}` : prefix) : block.name;
    for (const t of block.tests) {
      const full = name ? `${name} > ${t.name}` : t.name;
      if (only && !only(full)) continue;
      if (skip.has(full)) { results.push({ name: full, ok: null, error: 'skipped: ' + skip.get(full) }); continue; }
      let error = null;
      try {
        if (between) await between();
        for (const h of before) await h();
        await withTimeout(t.fn(), 30000);
      } catch (e) {
        error = (e && e.stack) ? e.stack.split('\n').slice(0, 4).join(' | ') : String(e);
      }
      // cleanup hooks written for a mock client may fail on a real registry (deleting a subject
      // the test never registered): they do not decide the test
      try { for (const h of after) await h(); } catch (e) { /* ignored */ }
      results.push({ name: full, ok: error === null, error });
    }
    for (const c of block.children) await walk(c, name, before, after);
  }
  await walk(root, '', [], []);
  return results;
}
function withTimeout(p, ms) {
  let t;
  return Promise.race([Promise.resolve(p), new Promise((_, rej) => { t = setTimeout(() => rej(new Error('timed out after ' + ms + ' ms')), ms); })])
    .finally(() => clearTimeout(t));
}
function reset() { root.tests = []; root.children = []; root.beforeEach = []; root.afterEach = []; current = root; }

module.exports = { describe, it, expect, beforeEach, afterEach, beforeAll: beforeEach, afterAll: afterEach, jest: {}, run, reset };
