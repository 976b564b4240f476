const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry');
const fs = require('fs');
// Reads the frame the Java peer wrote, then writes one back with the same subject's id.
(async () => {
  const host = fs.readFileSync('url.txt', 'utf8').trim();
  const registry = new SchemaRegistry({ host });
  const javaBytes = Buffer.from(fs.readFileSync('java.b64', 'utf8'), 'base64');
  const decoded = await registry.decode(javaBytes);
  console.log('NODE read java\'s record:', decoded.task_id, decoded.priority, decoded.submitted_at, JSON.stringify(decoded.attributes));
  // Node registers the same schema under the same subject (gets the same id) and writes a record.
  const id = await registry.getLatestSchemaId('interop.tasks-value');
  console.log('NODE latest id for interop.tasks-value:', id, ' java frame id:', javaBytes.readInt32BE(1));
  const out = await registry.encode(id, { ...decoded, task_id: 'from-node', priority: 1 });
  fs.writeFileSync('node.b64', out.toString('base64'));
})().catch(e => { console.error('NODE failed', e); process.exit(1); });
