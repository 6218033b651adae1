import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';

const FILE = new URL('../../../deploy/kubernetes/solve-job.yaml', import.meta.url);

interface Container {
  command: string[];
  resources?: { limits?: Record<string, unknown> };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface K8sObject {
  kind: string;
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    completionMode?: string;
    completions?: number;
    parallelism?: number;
    template?: { spec: { restartPolicy: string; containers: Container[]; volumes: { persistentVolumeClaim?: { claimName: string } }[] } };
  };
}

test('the Kubernetes example: PVC, Indexed solve Job and merge Job agree with each other', async () => {
  const docs = parseAllDocuments(await readFile(FILE, 'utf8'));
  for (const d of docs) assert.deepEqual(d.errors, []);
  const objects = docs.map((d) => d.toJS() as K8sObject).filter(Boolean);
  const byStep = new Map(objects.map((o) => [o.metadata.labels['prototoken/step'], o]));
  assert.deepEqual([...byStep.keys()], ['storage', 'solve', 'merge']);

  const pvc = byStep.get('storage') as K8sObject;
  const solve = byStep.get('solve') as K8sObject;
  const merge = byStep.get('merge') as K8sObject;
  assert.equal(solve.kind, 'Job');
  assert.equal(solve.spec.completionMode, 'Indexed');
  const [worker] = solve.spec.template?.spec.containers ?? [];
  const cmd = worker.command;
  assert.deepEqual(cmd.slice(0, 3), ['npx', 'prototoken', 'solve']);
  assert.equal(Number(cmd[cmd.indexOf('--num-shards') + 1]), solve.spec.completions, '--num-shards == completions');
  assert.ok((solve.spec.parallelism ?? 0) <= (solve.spec.completions ?? 0));
  assert.equal(worker.resources?.limits?.['nvidia.com/gpu'], 1);
  const out = cmd[cmd.indexOf('--out') + 1];
  assert.ok(out.startsWith('/data/'));

  const [merger] = merge.spec.template?.spec.containers ?? [];
  assert.deepEqual(merger.command, ['npx', 'prototoken', 'merge', out]);
  for (const job of [solve, merge]) {
    const spec = job.spec.template?.spec;
    assert.equal(spec?.restartPolicy, 'Never');
    assert.equal(spec?.volumes[0].persistentVolumeClaim?.claimName, pvc.metadata.name);
    assert.equal(spec?.containers[0].volumeMounts?.[0].mountPath, '/data');
  }
});
