/**
 * kubectl builds what stackctl writes, offline: `kubectl kustomize DIR` on each rendered directory exactly as
 * written (marker file included), and the printed `kubectl create secret` command, run with --dry-run=client,
 * makes the Secret the manifests reference. Needs kubectl, not a cluster; skipped, saying so, without it.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {parseAllDocuments} from 'yaml'

import {checkOutputDir, writeOutputDir} from '../../../../src/lib/targets/kubernetes/output-dir.js'
import type {PostgresMode} from '../../../../src/lib/targets/kubernetes/options.js'
import {planKubernetes} from '../../../../src/lib/targets/kubernetes/render-kubernetes.js'
import {validateObject, type KubernetesObject} from './models.js'
import {find, objects, render, SCENARIOS} from './scenarios.js'

function kubectl(args: string[]) {
  return spawnSync('kubectl', args, {encoding: 'utf8', timeout: 60_000})
}

const version = kubectl(['version', '--client'])
const available = version.status === 0
const suite = available ? describe : describe.skip
const reason = available
  ? `kubectl ${/v\d+\.\d+\.\d+[^\s",]*/.exec(version.stdout)?.[0] ?? 'of unknown version'}`
  : 'SKIPPED: no kubectl on PATH (Debian: apt-get install kubernetes-client; .ci/run installs it)'

suite(`kubectl builds the rendered manifests (integration: kubectl, no cluster; ${reason})`, function () {
  this.timeout(120_000)
  let root: string
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'stackctl-kustomize-'))))
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  for (const [name, options] of Object.entries(SCENARIOS)) {
    it(`kubectl kustomize builds ${name} as written, every object valid and in its namespace`, async () => {
      const files = render({...options, namespace: 'visits'})
      const dir = path.join(root, name)
      await writeOutputDir(await checkOutputDir(dir, files, false))
      const built = kubectl(['kustomize', dir])
      expect(built.status, built.stderr).to.equal(0)
      const documents = parseAllDocuments(built.stdout).map((document) => document.toJS() as KubernetesObject)
      const id = (object: KubernetesObject) => `${object.kind}/${object.metadata.name}`
      expect(documents.map(id).sort()).to.deep.equal(objects(files).map(id).sort())
      expect(documents.map((object) => object.metadata.namespace)).to.deep.equal(documents.map(() => 'visits'))
      for (const object of documents) validateObject(object)
    })
  }

  it('fails to build a directory that lacks a file its kustomization lists (the check can fail)', async () => {
    const dir = path.join(root, 'broken')
    await writeOutputDir(await checkOutputDir(dir, render(), false))
    rmSync(path.join(dir, 'app-pdb.yaml'))
    const built = kubectl(['kustomize', dir])
    expect(built.status).to.not.equal(0)
    expect(built.stderr).to.include('app-pdb.yaml')
  })

  /** The Secret the printed command makes, by kubectl --dry-run=client, for a stack with a known password. */
  async function printedSecret(postgres: PostgresMode) {
    const stackDir = path.join(root, 'stack')
    mkdirSync(path.join(stackDir, 'secrets'), {recursive: true})
    writeFileSync(path.join(stackDir, 'stack.json'), '{"stackId":"0123456789abcdef","settings":{"project":"demo"}}')
    writeFileSync(path.join(stackDir, 'secrets', 'db_password'), 'not-a-real-password')
    const {result} = await planKubernetes({
      config: {dir: stackDir},
      kubernetes: {postgres, namespace: 'visits'},
      version: '1.2.3',
      stdout: true,
      force: false,
      env: {},
      cwd: root,
    })
    const [program, ...args] = result.secret.command.split(' ')
    expect(program).to.equal('kubectl')
    const created = kubectl([...args, '--dry-run=client', '-o', 'json'])
    expect(created.status, created.stderr).to.equal(0)
    return JSON.parse(created.stdout)
  }

  for (const [postgres, type] of [
    ['statefulset', 'Opaque'],
    ['cloudnative-pg', 'kubernetes.io/basic-auth'],
  ] as const) {
    it(`the printed secret command makes the ${type} Secret the ${postgres} manifests mount`, async () => {
      const secret = await printedSecret(postgres)
      expect(secret.type ?? 'Opaque').to.equal(type) // a generic Secret's type defaults to Opaque
      expect(secret.metadata.namespace).to.equal('visits')
      expect(Buffer.from(secret.data.password, 'base64').toString()).to.equal('not-a-real-password')
      const volumes = find(render({postgres}), 'Deployment').spec.template.spec.volumes
      const mounted = volumes.find((volume: {name: string}) => volume.name === 'db-password').secret
      expect(mounted.secretName).to.equal(secret.metadata.name)
      expect(Object.keys(secret.data)).to.include(mounted.items[0].key)
    })
  }

  it('the printed CloudNativePG secret names the owner the Cluster bootstraps, and is the one it reads', async () => {
    const secret = await printedSecret('cloudnative-pg')
    const initdb = find(render({postgres: 'cloudnative-pg'}), 'Cluster').spec.bootstrap.initdb
    expect(initdb.secret.name).to.equal(secret.metadata.name)
    expect(Buffer.from(secret.data.username, 'base64').toString()).to.equal(initdb.owner)
  })
})
