/**
 * `stackctl render --target kubernetes` through the built CLI, as a user runs it: what it writes and prints,
 * --json and --stdout, a password that never leaves its file, and bad input refused before anything is
 * written (exit 2). Needs the build, not the engine: DOCKER_HOST points nowhere on purpose.
 */
import {expect} from 'chai'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {parseAllDocuments} from 'yaml'

import type {KubernetesRenderResult} from '../../src/lib/targets/kubernetes/render-kubernetes.js'
import {runCli, type CliResult} from '../helpers/cli.js'

const PASSWORD = 'k8s-test-Pa55word-0f6c1d2e9b'

/** Every regular file under dir, recursively, with its content. */
function filesUnder(dir: string): Record<string, string> {
  const found: Record<string, string> = {}
  for (const entry of readdirSync(dir, {withFileTypes: true, recursive: true})) {
    if (entry.isFile())
      found[path.join(entry.parentPath, entry.name)] = readFileSync(path.join(entry.parentPath, entry.name), 'utf8')
  }
  return found
}

describe('render --target kubernetes (integration: the built CLI, no engine)', function () {
  this.timeout(60_000)
  let root: string
  let stackDir: string
  let out: string

  const render = (...args: string[]): Promise<CliResult> =>
    runCli(['render', '--target', 'kubernetes', '--dir', stackDir, ...args], {
      cwd: root,
      env: {DOCKER_HOST: 'unix:///nonexistent/docker.sock', STACKCTL_STATE_DIR: path.join(root, 'state')},
    })

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'stackctl-render-k8s-'))
    stackDir = path.join(root, 'stack')
    out = path.join(stackDir, 'kubernetes')
    mkdirSync(path.join(stackDir, 'secrets'), {recursive: true, mode: 0o700})
    mkdirSync(path.join(stackDir, 'app'))
    const settings = {project: 'demo', pgMajor: 17, imageSource: 'registry', resolvedImageSource: 'registry'}
    writeFileSync(path.join(stackDir, 'stack.json'), JSON.stringify({stackId: '0123456789abcdef', settings}))
    writeFileSync(path.join(stackDir, 'secrets', 'db_password'), PASSWORD, {mode: 0o600})
  })
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  it('writes the kustomize directory and prints the images, the secret command and what to run next', async () => {
    const result = await render()
    expect(result.exitCode, result.stderr).to.equal(0)
    expect(readdirSync(out).sort()).to.deep.equal([
      'app-deployment.yaml',
      'app-pdb.yaml',
      'app-service.yaml',
      'db-networkpolicy.yaml',
      'db-service.yaml',
      'db-statefulset.yaml',
      'kustomization.yaml',
      'stackctl-render.json',
    ])
    const lines = result.stdout.split('\n')
    expect(lines[0]).to.equal(`wrote ${out} (kustomization.yaml and 6 objects, namespace demo)`)
    expect(lines[1]).to.match(/^the cluster must be able to pull postgres:17 and stackctl-app:\d+\.\d+\.\d+$/)
    expect(lines).to.include(
      `  kubectl create secret generic demo-db-password --namespace demo --from-file=password=${stackDir}/secrets/db_password`,
    )
    expect(lines).to.include(`  kubectl apply -k ${out}`)
    expect(result.stdout).to.match(
      /docker build --build-arg NODE_IMAGE=node:24-slim -t stackctl-app:\S+ \S+\/stack\/app/,
    )
    expect(result.stderr).to.equal('')

    const again = await render()
    expect(again.exitCode).to.equal(0)
    expect(again.stdout.split('\n')[0]).to.equal(`unchanged ${out} (kustomization.yaml and 6 objects, namespace demo)`)
  })

  it('prints the typed result with --json, for cloudnative-pg with a registry and the options given', async () => {
    const result = await render(
      '--json',
      '--postgres',
      'cloudnative-pg',
      '--image-registry',
      'registry.example.com:5000/visits',
      '--namespace',
      'visits',
      '--replicas',
      '3',
      '--storage-size',
      '20Gi',
      '--storage-class',
      'fast',
      '--out',
      'k8s',
    )
    expect(result.exitCode, result.stderr).to.equal(0)
    const parsed = JSON.parse(result.stdout) as KubernetesRenderResult
    const version = parsed.images.app.split(':').pop()
    expect(parsed).to.deep.include({
      target: 'kubernetes',
      outDir: path.join(root, 'k8s'),
      written: true,
      namespace: 'visits',
      postgres: 'cloudnative-pg',
      files: [
        'kustomization.yaml',
        'cnpg-cluster.yaml',
        'cnpg-networkpolicy.yaml',
        'app-deployment.yaml',
        'app-service.yaml',
        'app-pdb.yaml',
      ],
      images: {
        postgres: 'registry.example.com:5000/visits/cloudnative-pg/postgresql:17',
        app: `registry.example.com:5000/visits/stackctl-app:${version}`,
      },
      secret: {
        name: 'demo-db-credentials',
        command: `kubectl create secret generic demo-db-credentials --namespace visits --type=kubernetes.io/basic-auth --from-literal=username=app --from-file=password=${stackDir}/secrets/db_password`,
      },
      dataClaim: 'demo-db-1',
    })
    expect(parsed.imageCommands).to.include(`docker push registry.example.com:5000/visits/stackctl-app:${version}`)
    expect(parsed.manifests).to.equal(null) // written to files, not printed
    const cluster = readFileSync(path.join(root, 'k8s', 'cnpg-cluster.yaml'), 'utf8')
    expect(cluster).to.include('storageClass: fast').and.include('size: 20Gi')
  })

  it('prints the objects as one YAML stream with --stdout, the instructions on stderr, and writes nothing', async () => {
    const result = await render('--stdout', '--pg-major', '18')
    expect(result.exitCode, result.stderr).to.equal(0)
    const documents = parseAllDocuments(result.stdout).map((document) => document.toJS())
    expect(documents.map((document) => document.kind)).to.deep.equal([
      'StatefulSet',
      'Service',
      'NetworkPolicy',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
    ])
    expect(documents.every((document) => document.metadata.namespace === 'demo')).to.equal(true)
    expect(documents[0].spec.template.spec.containers[0].image).to.equal('postgres:18')
    expect(result.stderr).to.include('kubectl create secret generic demo-db-password')
    expect(existsSync(out)).to.equal(false)
  })

  it('never puts the password in a file it writes or in its output', async () => {
    const runs = [
      await render(),
      await render('--postgres', 'cloudnative-pg', '--out', path.join(root, 'cnpg')),
      await render('--json', '--out', path.join(root, 'json')),
      await render('--stdout'),
      await render('--stdout', '--json', '--postgres', 'cloudnative-pg'),
    ]
    expect(runs.map((run) => run.exitCode)).to.deep.equal([0, 0, 0, 0, 0])
    const written = {...filesUnder(out), ...filesUnder(path.join(root, 'cnpg')), ...filesUnder(path.join(root, 'json'))}
    expect(Object.keys(written)).to.have.length(8 + 7 + 8) // objects, kustomization.yaml and marker, three times
    expect(Object.keys(written).filter((file) => written[file].includes(PASSWORD))).to.deep.equal([])
    expect(runs.filter((run) => `${run.stdout}${run.stderr}`.includes(PASSWORD))).to.deep.equal([])
    expect(runs[3].stdout).to.include('kind: StatefulSet') // the scan did see the stream
    expect(readFileSync(path.join(stackDir, 'secrets', 'db_password'), 'utf8')).to.equal(PASSWORD) // the scan can match
  })

  for (const [args, message] of [
    [['--replicas', '0'], '--replicas: Expected an integer greater than or equal to 1 but received: 0'],
    [['--replicas', '51'], '--replicas: Expected an integer less than or equal to 50 but received: 51'],
    [['--replicas', 'two'], '--replicas: Expected an integer but received: two'],
    [['--namespace', 'Visits'], "invalid namespace 'Visits'"],
    [['--storage-size', '10'], "invalid storage size '10'"],
    [['--storage-size', '100Mi'], "storage size '100Mi' is too small"],
    [['--storage-class', 'fast_ssd'], "invalid storage class 'fast_ssd'"],
    [['--image-registry', 'acme'], "invalid image registry 'acme'"],
    [['--postgres', 'mysql'], 'Expected --postgres=mysql to be one of: statefulset, cloudnative-pg'],
    [['--stdout', '--out', 'x'], '--out and --stdout exclude each other'],
    [['--adopt'], '--adopt only applies to --target compose'],
    [['--project-name', 'other'], "is the stack directory of project 'demo', not 'other'"],
  ] as const) {
    it(`refuses ${args.join(' ')} in one line with a hint, exit 2, writing nothing`, async () => {
      const result = await render(...args)
      expect(result.exitCode).to.equal(2)
      expect(result.stderr).to.match(/^Error: [^\n]+\nHint: [^\n]+\n$/)
      expect(result.stderr.split('\n')[0]).to.include(message)
      expect(result.stdout).to.equal('')
      expect(existsSync(out)).to.equal(false)
    })
  }

  it('refuses kubernetes options with --target compose before touching the engine (exit 2)', async () => {
    const result = await runCli(['render', '--dir', stackDir, '--replicas', '3', '--namespace', 'visits'], {
      env: {DOCKER_HOST: 'unix:///nonexistent/docker.sock'},
    })
    expect(result.exitCode).to.equal(2)
    expect(result.stderr).to.equal(
      'Error: --namespace, --replicas only apply to --target kubernetes\nHint: add --target kubernetes\n',
    )
  })

  it('needs a rendered stack with its password file, and never follows a link to it', async () => {
    rmSync(path.join(stackDir, 'secrets', 'db_password'))
    const missing = await render()
    expect(missing.exitCode).to.equal(2)
    expect(missing.stderr).to.include(`the password file ${stackDir}/secrets/db_password is missing`)
    expect(missing.stderr).to.include(`Hint: run stackctl render --dir ${stackDir}`)

    writeFileSync(path.join(root, 'elsewhere'), PASSWORD)
    symlinkSync(path.join(root, 'elsewhere'), path.join(stackDir, 'secrets', 'db_password'))
    const linked = await render()
    expect(linked.exitCode).to.equal(2)
    expect(linked.stderr).to.include('it is a symbolic link')

    rmSync(path.join(stackDir, 'stack.json'))
    const unrendered = await render()
    expect(unrendered.exitCode).to.equal(2)
    expect(unrendered.stderr).to.include(`${stackDir} holds no rendered stack`)
    expect(existsSync(out)).to.equal(false)
  })

  it('refuses an --out that holds other things, and a hand-edited manifest unless --force', async () => {
    const foreign = path.join(root, 'mine')
    mkdirSync(foreign)
    writeFileSync(path.join(foreign, 'notes.txt'), 'mine')
    const refused = await render('--out', foreign)
    expect(refused.exitCode).to.equal(2)
    expect(refused.stderr).to.include(`${foreign} is not empty and was not written by stackctl (it holds notes.txt)`)
    expect(readdirSync(foreign)).to.deep.equal(['notes.txt'])

    expect((await render()).exitCode).to.equal(0)
    const deployment = path.join(out, 'app-deployment.yaml')
    writeFileSync(deployment, readFileSync(deployment, 'utf8').replace('replicas: 2', 'replicas: 9'))
    const edited = await render('--replicas', '4')
    expect(edited.exitCode).to.equal(2)
    expect(edited.stderr).to.include(`${deployment} was edited by hand`)
    expect(readFileSync(deployment, 'utf8')).to.include('replicas: 9')
    const forced = await render('--replicas', '4', '--force')
    expect(forced.exitCode, forced.stderr).to.equal(0)
    expect(readFileSync(deployment, 'utf8')).to.include('replicas: 4')
  })
})
