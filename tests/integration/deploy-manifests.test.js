'use strict';
// The deployment files an operator applies (docs/operations.md), checked without a cluster:
// every Kubernetes object in deploy/k8s validates against the Kubernetes JSON schemas (npm
// kubernetes-models: types, enums, required fields), and the rules the manifests promise hold:
// explicit image tags with a pull policy, a hardened securityContext on every pod and container,
// resources on every container, the broker set discovered through the headless Service, the
// apps Secret defined, probes and Services pointing at declared ports and matching pods, the
// HPA, both PDBs and the broker NetworkPolicy selecting what they should, and a grace period
// that covers preStop + drain.
// The schemas accept unknown fields (as the API's OpenAPI schema does), so the rules below read
// every field they rely on explicitly: a misspelt one fails them. deploy/compose.yaml is
// checked for a broker list written once and the balancer's port; the deploy/k8s-tls overlay
// for a TLS Secret mounted where RTMESH_TLS_* point, the merged Deployment validated.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const DEPLOY = path.join(__dirname, '..', '..', 'deploy');
const K8S = path.join(DEPLOY, 'k8s');
const STOP_GRACE_S = 1; // node/worker.c S_STOP_GRACE_MS: closing after the drain

// The model class for an object, by apiVersion and kind, from kubernetes-models.
function modelFor(obj) {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const mod = require(group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`);
  return mod[obj.kind];
}

function loadDocs(file) {
  return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((doc) => {
    assert.deepEqual(doc.errors, [], `${path.basename(file)}: YAML errors`);
    return doc.toJS();
  });
}

const files = fs.readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const objects = files.flatMap((f) => loadDocs(path.join(K8S, f)).map((obj) => ({ file: f, obj })));
const find = (kind, name) => {
  const found = objects.find(({ obj }) => obj.kind === kind && obj.metadata.name === name);
  assert.ok(found, `no ${kind} ${name} in deploy/k8s`);
  return found.obj;
};
const workloads = () => objects.filter(({ obj }) => ['Deployment', 'StatefulSet'].includes(obj.kind)).map(({ obj }) => obj);
const matches = (selector, labels) => Object.entries(selector).every(([k, v]) => labels[k] === v);
const envOf = (container) => Object.fromEntries((container.env || []).map((e) => [e.name, e.value]));

test('every object in deploy/k8s validates against the Kubernetes schemas', () => {
  assert.ok(objects.length >= 9, `objects found: ${objects.length}`);
  for (const { file, obj } of objects) {
    const Model = modelFor(obj);
    assert.ok(Model, `${file}: unknown kind ${obj.apiVersion} ${obj.kind}`);
    assert.doesNotThrow(() => new Model(obj).validate(), `${file}: ${obj.kind} ${obj.metadata?.name}`);
  }
});

test('the validator refuses what the API server would (the check can fail)', () => {
  const broken = structuredClone(find('Deployment', 'rtmesh-node'));
  broken.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
  assert.throws(() => modelFor(broken) && new (modelFor(broken))(broken).validate(), /imagePullPolicy/);
  const noSelector = structuredClone(find('StatefulSet', 'rtmesh-broker'));
  delete noSelector.spec.selector;
  assert.throws(() => new (modelFor(noSelector))(noSelector).validate(), /selector/);
});

test('images have an explicit tag and pull policy, and kustomize can override them', () => {
  const kustomization = YAML.parse(fs.readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8'));
  for (const w of workloads()) {
    for (const c of w.spec.template.spec.containers) {
      assert.match(c.image, /^[^:]+:(?!latest$)[\w.-]+$/, `${w.metadata.name}/${c.name}: image ${c.image}`);
      assert.ok(['IfNotPresent', 'Always'].includes(c.imagePullPolicy), `${w.metadata.name}/${c.name}: imagePullPolicy`);
      const name = c.image.split(':')[0];
      assert.ok(kustomization.images.some((i) => i.name === name), `kustomization.yaml images[] names ${name}`);
    }
  }
  for (const r of kustomization.resources) assert.ok(fs.existsSync(path.join(K8S, r)), `kustomization resource ${r}`);
});

test('pods and containers run hardened: numeric non-root user, read-only root, no escalation, no capabilities, seccomp', () => {
  for (const w of workloads()) {
    const pod = w.spec.template.spec;
    const what = w.metadata.name;
    assert.equal(pod.securityContext.runAsNonRoot, true, `${what}: runAsNonRoot`);
    assert.ok(Number.isInteger(pod.securityContext.runAsUser) && pod.securityContext.runAsUser > 0, `${what}: numeric runAsUser`);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', `${what}: seccomp`);
    assert.equal(pod.automountServiceAccountToken, false, `${what}: no service account token`);
    assert.equal(pod.enableServiceLinks, false, `${what}: no service link variables beside RTMESH_*`);
    for (const c of pod.containers) {
      const sc = c.securityContext;
      assert.equal(sc.allowPrivilegeEscalation, false, `${what}/${c.name}: allowPrivilegeEscalation`);
      assert.equal(sc.readOnlyRootFilesystem, true, `${what}/${c.name}: readOnlyRootFilesystem`);
      assert.deepEqual(sc.capabilities.drop, ['ALL'], `${what}/${c.name}: capabilities`);
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, `${what}/${c.name}: resources`);
    }
  }
});

test('the broker set is the headless Service\'s DNS answer, and a broker\'s identity is its pod\'s DNS name', () => {
  const sts = find('StatefulSet', 'rtmesh-broker');
  const svcName = sts.spec.serviceName;
  const broker = sts.spec.template.spec.containers[0];
  const ingress = broker.ports.find((p) => p.name === 'ingress').containerPort;
  assert.equal(find('ConfigMap', 'rtmesh').data.RTMESH_BROKERS, `dns://${svcName}:${ingress}`, 'RTMESH_BROKERS follows the Service');
  const svc = find('Service', svcName);
  assert.equal(svc.spec.clusterIP, 'None', 'the brokers\' Service is headless (one address per pod)');
  assert.equal(svc.spec.publishNotReadyAddresses, true, 'a starting broker is listed before it is ready');
  assert.ok(matches(svc.spec.selector, sts.spec.template.metadata.labels), 'the Service selects the broker pods');
  // Kubernetes expands $(VAR) only from variables defined earlier in the same list.
  const env = broker.env;
  const at = (name) => env.findIndex((e) => e.name === name);
  const self = env[at('RTMESH_SELF')];
  assert.equal(self.value, `tcp://$(POD_NAME).${svcName}.$(POD_NAMESPACE).svc.cluster.local:${ingress}`, 'RTMESH_SELF is the pod\'s PTR name');
  for (const [name, field] of [['POD_NAME', 'metadata.name'], ['POD_NAMESPACE', 'metadata.namespace']]) {
    assert.equal(env[at(name)].valueFrom.fieldRef.fieldPath, field, `${name} from the downward API`);
    assert.ok(at(name) < at('RTMESH_SELF'), `${name} is defined before RTMESH_SELF`);
  }
  assert.ok(!broker.command.join(' ').includes('--shard'), 'no shard index: membership is by identity');
  for (const w of workloads()) {
    assert.ok(w.spec.template.spec.containers[0].envFrom.some((e) => e.configMapRef?.name === 'rtmesh'), `${w.metadata.name} reads the list`);
  }
});

test('the apps Secret the pods mount is defined, and holds an apps array', () => {
  const secret = find('Secret', 'rtmesh-apps');
  const apps = JSON.parse(secret.stringData['apps.json']);
  assert.ok(Array.isArray(apps) && apps.every((a) => a.id && a.key && a.secret), 'apps.json: [{id, key, secret}]');
  for (const w of workloads()) {
    const vol = w.spec.template.spec.volumes.find((v) => v.secret);
    assert.equal(vol.secret.secretName, 'rtmesh-apps', `${w.metadata.name} mounts the apps Secret`);
    const mount = w.spec.template.spec.containers[0].volumeMounts.find((m) => m.name === vol.name);
    assert.equal(`${mount.mountPath}/apps.json`, find('ConfigMap', 'rtmesh').data.RTMESH_APPS_FILE, `${w.metadata.name}: RTMESH_APPS_FILE is the mounted file`);
  }
});

test('Services, probes, the HPA, PDBs and the NetworkPolicy point at what exists', () => {
  for (const w of workloads()) {
    const labels = w.spec.template.metadata.labels;
    assert.ok(matches(w.spec.selector.matchLabels, labels), `${w.metadata.name}: selector matches its pods`);
    const c = w.spec.template.spec.containers[0];
    const portNames = new Set(c.ports.map((p) => p.name));
    for (const probe of [c.readinessProbe, c.livenessProbe]) assert.ok(portNames.has(probe.httpGet.port), `${w.metadata.name}: probe port ${probe.httpGet.port}`);
    const svc = objects.find(({ obj }) => obj.kind === 'Service' && matches(obj.spec.selector, labels));
    assert.ok(svc, `${w.metadata.name}: a Service selects its pods`);
    for (const p of svc.obj.spec.ports) assert.ok(portNames.has(p.targetPort), `${svc.obj.metadata.name}: targetPort ${p.targetPort}`);
    const pdb = objects.find(({ obj }) => obj.kind === 'PodDisruptionBudget' && matches(obj.spec.selector.matchLabels, labels));
    assert.ok(pdb, `${w.metadata.name}: a PodDisruptionBudget covers it`);
    assert.ok(w.spec.template.spec.topologySpreadConstraints.length > 0, `${w.metadata.name}: topology spread`);
  }
  const hpa = find('HorizontalPodAutoscaler', 'rtmesh-node');
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'rtmesh-node' });
  const np = find('NetworkPolicy', 'rtmesh-broker');
  const brokerLabels = find('StatefulSet', 'rtmesh-broker').spec.template.metadata.labels;
  const nodeLabels = find('Deployment', 'rtmesh-node').spec.template.metadata.labels;
  assert.ok(matches(np.spec.podSelector.matchLabels, brokerLabels), 'the NetworkPolicy selects the brokers');
  const fromNodes = np.spec.ingress.find((r) => r.from.some((f) => f.podSelector && matches(f.podSelector.matchLabels, nodeLabels)));
  assert.deepEqual(fromNodes.ports.map((p) => p.port).sort(), [7100, 7101], 'nodes reach ingress and egress');
  for (const rule of np.spec.ingress) assert.ok(rule.from.length > 0 && rule.ports.length > 0, 'every rule names sources and ports');
});

test('the node\'s grace period covers preStop, the drain and the close', () => {
  const pod = find('Deployment', 'rtmesh-node').spec.template.spec;
  const c = pod.containers[0];
  const [cmd, seconds] = c.lifecycle.preStop.exec.command;
  assert.equal(cmd, 'sleep');
  const drain = Number(envOf(c).RTMESH_DRAIN_SECONDS);
  assert.ok(drain > 0, 'RTMESH_DRAIN_SECONDS is set');
  assert.ok(pod.terminationGracePeriodSeconds > Number(seconds) + drain + STOP_GRACE_S, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > ${seconds} + ${drain} + ${STOP_GRACE_S}`);
  assert.equal(c.readinessProbe.httpGet.path, '/readyz', 'readiness follows /readyz (503 while draining)');
});

test('deploy/compose.yaml: the broker list once, every shard started, the balancer on 6001', () => {
  const text = fs.readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8');
  const compose = YAML.parse(text, { merge: true });
  const list = text.match(/tcp:\/\/broker-\d+:7100/g);
  assert.equal(new Set(list).size, list.length, 'each broker endpoint written once');
  const brokers = Object.keys(compose.services).filter((s) => s.startsWith('broker-'));
  assert.equal(brokers.length, list.length, 'a service per listed shard');
  brokers.forEach((s) => assert.deepEqual(compose.services[s].command.slice(-2), ['--shard', s.split('-')[1]]));
  assert.ok(compose.services.lb.ports.some((p) => /:6001$/.test(p) && p.includes('${RTMESH_LB_PORT:-6001}')), 'lb publishes 6001');
});

test('deploy/k8s-tls: the TLS Secret mounted into the base\'s node container, RTMESH_TLS_* pointing into it, readable by its group', () => {
  const dir = path.join(DEPLOY, 'k8s-tls');
  const kustomization = YAML.parse(fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'));
  assert.deepEqual(kustomization.resources, ['../k8s']);
  const [patch] = kustomization.patches.map((p) => loadDocs(path.join(dir, p.path))[0]);
  const base = find(patch.kind, patch.metadata.name);
  const pod = structuredClone(base.spec.template.spec);
  const tlsPod = patch.spec.template.spec;
  const tlsContainer = tlsPod.containers[0];
  const container = pod.containers.find((c) => c.name === tlsContainer.name);
  assert.ok(container, `the base's ${patch.metadata.name} has a container ${tlsContainer.name}`);
  // The strategic merge kustomize does, by name: the result must still validate.
  container.env = [...container.env, ...tlsContainer.env];
  container.volumeMounts = [...container.volumeMounts, ...tlsContainer.volumeMounts];
  pod.volumes = [...pod.volumes, ...tlsPod.volumes];
  pod.securityContext = { ...pod.securityContext, ...tlsPod.securityContext };
  const merged = { ...structuredClone(base), spec: { ...base.spec, template: { ...base.spec.template, spec: pod } } };
  const Model = modelFor(merged);
  assert.doesNotThrow(() => new Model(merged).validate(), 'the merged Deployment');

  const [mount] = tlsContainer.volumeMounts;
  assert.ok(!container.volumeMounts.some((m) => m !== mount && mount.mountPath.startsWith(`${m.mountPath}/`)), 'not nested in another (read-only) volume');
  const volume = pod.volumes.find((v) => v.name === mount.name);
  assert.equal(volume.secret.secretName, 'rtmesh-node-tls');
  const env = envOf(container);
  // A kubernetes.io/tls Secret's keys, under the mount.
  assert.equal(env.RTMESH_TLS_CERT, `${mount.mountPath}/tls.crt`);
  assert.equal(env.RTMESH_TLS_KEY, `${mount.mountPath}/tls.key`);
  assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsGroup, 'the files belong to the node\'s group');
  assert.equal(volume.secret.defaultMode & 0o040, 0o040, 'group-readable');
  assert.equal(volume.secret.defaultMode & 0o007, 0, 'not world-readable');
});
