// Reads a JSON array of Kubernetes objects on stdin and prints, for each, the
// list of schema errors (empty when valid). Run by tools.ts: kubernetes-models
// ships ESM only. An unknown apiVersion/kind is an error too.
import * as k8s from 'kubernetes-models';
import * as traefik from '@kubernetes-models/traefik';

const groups = [k8s, traefik];

function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  for (const root of groups) {
    // The packages name groups in camel case: networking.k8s.io → networkingK8sIo.
    const byGroup = group === '' ? root : root[group.replace(/[.-](\w)/g, (_, c) => c.toUpperCase())];
    const Model = byGroup?.[version]?.[kind];
    if (typeof Model === 'function') return Model;
  }
  return null;
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map((object) => {
  const Model = modelFor(String(object.apiVersion), String(object.kind));
  if (!Model) return [`no schema for ${object.apiVersion} ${object.kind}`];
  // kustomize wraps long base64 Secret values over lines; the API server's decoder
  // skips the newlines, the schema's "byte" format does not.
  if (object.kind === 'Secret' && object.data) {
    object.data = Object.fromEntries(Object.entries(object.data).map(([k, v]) => [k, String(v).replace(/\s+/g, '')]));
  }
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    return [String(error.message ?? error)];
  }
});
process.stdout.write(JSON.stringify(results));
