import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * JSON schemas for kubeconform, made offline (kubeconform downloads them otherwise): one file per
 * kind and version, from the OpenAPI spec in the k8s.io/kubernetes module and from CRDs, laid out
 * for the template SCHEMA_TEMPLATE. Strict, like kubeconform's "-strict" schema sets: an object
 * that lists its properties accepts no others.
 */
export const SCHEMA_TEMPLATE = '{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json';

type Schema = { [key: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** kubeconform's {{ .Group }} is the apiVersion's part before "/", so core v1 kinds live in "v1". */
const fileFor = (dir: string, group: string, version: string, kind: string) =>
  path.join(dir, group || version, `${kind.toLowerCase()}_${version}.json`);

function strict(schema: Schema): Schema {
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Schema = { ...schema };
  const each = (map: Record<string, Schema>) => Object.fromEntries(Object.entries(map).map(([k, v]) => [k, strict(v)]));
  for (const key of ['properties', 'patternProperties', 'definitions']) if (out[key]) out[key] = each(out[key]);
  for (const key of ['items', 'additionalProperties', 'not']) if (typeof out[key] === 'object') out[key] = strict(out[key]);
  for (const key of ['allOf', 'anyOf', 'oneOf']) if (Array.isArray(out[key])) out[key] = out[key].map(strict);
  if (out['x-kubernetes-int-or-string'] || out.format === 'int-or-string') {
    delete out.type;
    delete out.format;
    out.oneOf = [{ type: 'string' }, { type: 'integer' }];
  }
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

/** From the OpenAPI v2 spec (swagger.json): every definition that names a group-version-kind. */
export async function kubernetesSchemas(swaggerFile: string, dir: string): Promise<number> {
  const definitions: Record<string, Schema> = JSON.parse(await readFile(swaggerFile, 'utf8')).definitions;
  // Quantities are written as numbers too (cpu: 1).
  definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'] = { oneOf: [{ type: 'string' }, { type: 'number' }] };
  const reachable = (name: string, seen = new Set<string>()) => {
    if (seen.has(name)) return seen;
    seen.add(name);
    for (const [, ref] of JSON.stringify(definitions[name]).matchAll(/"#\/definitions\/([^"]+)"/g)) reachable(ref!, seen);
    return seen;
  };
  let count = 0;
  for (const [name, definition] of Object.entries(definitions)) {
    for (const gvk of (definition['x-kubernetes-group-version-kind'] ?? []) as { group: string; version: string; kind: string }[]) {
      const schema = strict({
        ...definition,
        definitions: Object.fromEntries([...reachable(name)].map((n) => [n, definitions[n]])),
      });
      const file = fileFor(dir, gvk.group, gvk.version, gvk.kind);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify(schema));
      count++;
    }
  }
  return count;
}

/** From CustomResourceDefinitions: each served version's openAPIV3Schema. */
export async function crdSchemas(crdFile: string, dir: string): Promise<number> {
  let count = 0;
  for (const doc of parseAllDocuments(await readFile(crdFile, 'utf8'))) {
    const crd = doc.toJS() as Schema | null;
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    for (const version of crd.spec.versions) {
      const file = fileFor(dir, crd.spec.group, version.name, crd.spec.names.kind);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify(strict(version.schema.openAPIV3Schema)));
      count++;
    }
  }
  return count;
}
