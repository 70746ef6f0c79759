/**
 * Validation of rendered objects against the Kubernetes API's schemas, offline:
 * - validateObject: the JSON schema validators that kubernetes-models (the Kubernetes OpenAPI spec) and
 *   @kubernetes-models/cloudnative-pg (CloudNativePG's API types, those its Cluster CRD is generated from) ship
 *   with every model: types, formats, enums, required fields. The CloudNativePG kinds are also checked against
 *   the CRDs of a current release (crds/: CloudNativePG 1.27, the Barman Cloud plugin's ObjectStore), which the
 *   package (0.1.4, the last for Node 20) predates.
 * - unknownFieldErrors: those schemas let unknown fields through, as the API server does without strict field
 *   validation; a misspelt field (readinesProbe) would vanish silently on a cluster. The same packages' type
 *   declarations know every field, so the objects are type-checked as object literals, where TypeScript
 *   rejects any field the type does not declare; the CRD kinds are checked against their CRD schema with every
 *   object closed to fields it does not declare.
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {Ajv, type ValidateFunction} from 'ajv'
import {parse} from 'yaml'

import {Cluster} from '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster'
import {Deployment} from 'kubernetes-models/apps/v1/Deployment'
import {StatefulSet} from 'kubernetes-models/apps/v1/StatefulSet'
import {Service} from 'kubernetes-models/v1/Service'
import {NetworkPolicy} from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import {PodDisruptionBudget} from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import ts from 'typescript'

export interface KubernetesObject {
  apiVersion: string
  kind: string
  metadata: {name: string; namespace?: string; labels?: Record<string, string>}
  spec?: unknown
}

interface ModelEntry {
  model: new (data: never) => {validate(): void}
  /** The module and interface its type declarations give the object's type under. */
  module: string
  type: string
}

const MODELS: Record<string, ModelEntry> = {
  'apps/v1 StatefulSet': {model: StatefulSet, module: 'kubernetes-models/apps/v1/StatefulSet', type: 'IStatefulSet'},
  'apps/v1 Deployment': {model: Deployment, module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment'},
  'v1 Service': {model: Service, module: 'kubernetes-models/v1/Service', type: 'IService'},
  'networking.k8s.io/v1 NetworkPolicy': {
    model: NetworkPolicy,
    module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    type: 'INetworkPolicy',
  },
  'policy/v1 PodDisruptionBudget': {
    model: PodDisruptionBudget,
    module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    type: 'IPodDisruptionBudget',
  },
  'postgresql.cnpg.io/v1 Cluster': {
    model: Cluster,
    module: '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster',
    type: 'ICluster',
  },
}

/** The kinds checked against a CRD of a current release (crds/README.md), by the CRD's file. */
const CRDS: Record<string, string> = {
  'postgresql.cnpg.io/v1 Cluster': 'postgresql.cnpg.io_clusters.yaml',
  'postgresql.cnpg.io/v1 ScheduledBackup': 'postgresql.cnpg.io_scheduledbackups.yaml',
  'barmancloud.cnpg.io/v1 ObjectStore': 'barmancloud.cnpg.io_objectstores.yaml',
}

const kindOf = (object: KubernetesObject) => `${object.apiVersion} ${object.kind}`

function entry(object: KubernetesObject): ModelEntry | undefined {
  const found = MODELS[kindOf(object)]
  if (!found && !CRDS[kindOf(object)]) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`)
  return found
}

/** Throws the schema's first complaints (e.g. "data/spec/replicas must be integer") for an invalid object. */
export function validateObject(object: KubernetesObject): void {
  const found = entry(object)
  if (found) new found.model(object as never).validate()
  const errors = crdErrors(object, {closed: false})
  if (errors.length > 0) throw new Error(errors.join('; '))
}

const here = path.dirname(fileURLToPath(import.meta.url))
const ajv = new Ajv({strict: false, allErrors: true, validateFormats: false})
const compiled = new Map<string, ValidateFunction>()

/** The CRD's schema for the version the object names; closed: every object schema refuses undeclared fields. */
function crdValidator(object: KubernetesObject, closed: boolean): ValidateFunction | undefined {
  const file = CRDS[kindOf(object)]
  if (!file) return undefined
  const key = `${file} ${closed}`
  if (!compiled.has(key)) {
    const crd = parse(readFileSync(path.join(here, 'crds', file), 'utf8'))
    const version = object.apiVersion.split('/')[1]
    const served = crd.spec.versions.find((v: {name: string}) => v.name === version)
    if (!served) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`)
    const schema = served.schema.openAPIV3Schema
    compiled.set(key, ajv.compile(closed ? close(structuredClone(schema)) : schema))
  }
  return compiled.get(key)
}

/**
 * An object schema that declares its properties and neither allows others nor keeps unknown fields (as the API
 * server prunes them) gets additionalProperties: false, recursively.
 */
function close(schema: Record<string, unknown>): Record<string, unknown> {
  for (const value of Object.values(schema)) {
    if (Array.isArray(value)) value.forEach((item) => item && typeof item === 'object' && close(item))
    else if (value && typeof value === 'object') close(value as Record<string, unknown>)
  }
  const declares = schema.properties && typeof schema.properties === 'object'
  if (declares && schema.additionalProperties === undefined && !schema['x-kubernetes-preserve-unknown-fields']) {
    schema.additionalProperties = false
  }
  return schema
}

/** The CRD's complaints about an object of a CRD kind (none for other kinds), each naming where. */
function crdErrors(object: KubernetesObject, options: {closed: boolean}): string[] {
  const validate = crdValidator(object, options.closed)
  if (!validate || validate(object)) return []
  return (validate.errors ?? []).map((error) =>
    error.keyword === 'additionalProperties'
      ? `data${error.instancePath} has the unknown field '${String(error.params.additionalProperty)}'`
      : `data${error.instancePath} ${error.message ?? 'is invalid'}`,
  )
}

/** In this directory so that the packages resolve from the repository's node_modules; never written to disk. */
const checkFile = path.join(here, '__strict-check__.ts')

/** One message per field a type does not declare (or value of the wrong type), naming the object. */
export function unknownFieldErrors(all: KubernetesObject[]): string[] {
  const crdKinds = all.filter((object) => CRDS[kindOf(object)])
  const crd = crdKinds.flatMap((object) =>
    crdErrors(object, {closed: true}).map((error) => `${object.kind}/${object.metadata.name}: ${error}`),
  )
  return [...typeErrors(all.filter((object) => !CRDS[kindOf(object)])), ...crd]
}

function typeErrors(objects: KubernetesObject[]): string[] {
  if (objects.length === 0) return []
  const imports = Object.values(MODELS).map(
    (model, index) => `import type {${model.type} as T${index}} from '${model.module}'`,
  )
  const types = Object.values(MODELS)
  const declarations = objects.map((object, index) => {
    const type = `T${types.indexOf(entry(object)!)}`
    return `export const object${index}: ${type} = ${JSON.stringify(object)}`
  })
  const source = [...imports, ...declarations].join('\n')
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  }
  const host = ts.createCompilerHost(options)
  const {getSourceFile, fileExists, readFile} = host
  host.getSourceFile = (name, language, ...rest) =>
    name === checkFile ? ts.createSourceFile(name, source, language) : getSourceFile.call(host, name, language, ...rest)
  host.fileExists = (name) => name === checkFile || fileExists.call(host, name)
  host.readFile = (name) => (name === checkFile ? source : readFile.call(host, name))
  const program = ts.createProgram([checkFile], options, host)
  const file = program.getSourceFile(checkFile)
  return ts.getPreEmitDiagnostics(program, file).map((diagnostic) => {
    const line =
      diagnostic.file && diagnostic.start !== undefined
        ? file!.getLineAndCharacterOfPosition(diagnostic.start).line
        : -1
    const object = objects[line - imports.length]
    const where = object ? `${object.kind}/${object.metadata.name}` : 'check'
    return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`
  })
}
