/**
 * Validation of rendered objects against the Kubernetes API's schemas, offline:
 * - validateObject: the JSON schema validators that kubernetes-models (the Kubernetes OpenAPI spec) and
 *   @kubernetes-models/cloudnative-pg (CloudNativePG's API types, those its Cluster CRD is generated from) ship
 *   with every model: types, formats, enums, required fields.
 * - unknownFieldErrors: those schemas let unknown fields through, as the API server does without strict field
 *   validation; a misspelt field (readinesProbe) would vanish silently on a cluster. The same packages' type
 *   declarations know every field, so the objects are type-checked as object literals, where TypeScript
 *   rejects any field the type does not declare.
 */
import path from 'node:path'
import {fileURLToPath} from 'node:url'

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

function entry(object: KubernetesObject): ModelEntry {
  const found = MODELS[`${object.apiVersion} ${object.kind}`]
  if (!found) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`)
  return found
}

/** Throws the schema's first complaints (e.g. "data/spec/replicas must be integer") for an invalid object. */
export function validateObject(object: KubernetesObject): void {
  const {model: Model} = entry(object)
  new Model(object as never).validate()
}

const here = path.dirname(fileURLToPath(import.meta.url))
/** In this directory so that the packages resolve from the repository's node_modules; never written to disk. */
const checkFile = path.join(here, '__strict-check__.ts')

/** One message per field a type does not declare (or value of the wrong type), naming the object. */
export function unknownFieldErrors(objects: KubernetesObject[]): string[] {
  const imports = Object.values(MODELS).map(
    (model, index) => `import type {${model.type} as T${index}} from '${model.module}'`,
  )
  const types = Object.values(MODELS)
  const declarations = objects.map((object, index) => {
    const type = `T${types.indexOf(entry(object))}`
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
