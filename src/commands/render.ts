import {Flags, type Interfaces} from '@oclif/core'

import {StackctlCommand} from '../lib/base-command.js'
import {UsageError} from '../lib/errors.js'
import {adoptFlag, configFlags, configInput} from '../lib/flags.js'
import {givenKubernetesFlags, kubernetesFlags, targetFlag} from '../lib/kubernetes/flags.js'
import {planKubernetes, writeKubernetes, type KubernetesRenderResult} from '../lib/kubernetes/render-kubernetes.js'
import {describeKubernetes} from '../lib/kubernetes/report.js'
import {withStackLock} from '../lib/stack/lock.js'
import {loadStack} from '../lib/stack/context.js'
import {offlineResolver} from '../lib/stack/image-resolver.js'
import {renderStack} from '../lib/stack/render-stack.js'
import {loadSwarm} from '../lib/cluster/context.js'
import {renderSwarmFile, type SwarmRenderResult} from '../lib/cluster/render.js'

/** What `render --json` prints: the compose files, the Kubernetes directory, or the swarm stack file. */
export type RenderReport = RenderResult | KubernetesRenderResult | SwarmRenderResult

export interface RenderResult {
  composeFile: string
  written: boolean
  images: {source: string; postgres: string; node: string}
}

export default class Render extends StackctlCommand {
  static override summary =
    'Write the stack files (docker-compose.yml, build context, password) without starting anything, or Kubernetes manifests'
  static override description = `With --target kubernetes, writes a kustomize directory (kustomization.yaml and one file per object) for the stack of --dir: PostgreSQL in a StatefulSet (or a CloudNativePG Cluster with --postgres cloudnative-pg) and the API in a Deployment. No Docker engine is needed. The password never goes into the manifests: they reference a Secret, and the command prints the kubectl line that creates it from the stack's secrets/db_password.`
  static override examples = [
    '<%= config.bin %> render',
    '<%= config.bin %> render --stdout --port 8080',
    '<%= config.bin %> render --target kubernetes --namespace visits --replicas 3 --storage-class fast',
    '<%= config.bin %> render --target kubernetes --postgres cloudnative-pg --image-registry registry.example.com:5000',
    '<%= config.bin %> render --target kubernetes --stdout | kubectl apply -f -',
    '<%= config.bin %> render --target swarm --replicas 3',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...configFlags,
    ...adoptFlag,
    ...targetFlag,
    stdout: Flags.boolean({
      summary: 'Print the rendered docker-compose.yml (or the manifests) instead of writing files',
    }),
    force: Flags.boolean({summary: 'Overwrite a hand-edited docker-compose.yml (or manifest)'}),
    ...kubernetesFlags,
  }

  async run(): Promise<RenderReport> {
    const {flags} = await this.parse(Render)
    const kubernetesOnly = givenKubernetesFlags(flags)
    if (flags.target === 'kubernetes') return this.kubernetes(flags)
    if (flags.target === 'swarm') return this.swarm(flags, kubernetesOnly)
    if (kubernetesOnly.length > 0) {
      throw new UsageError(`${kubernetesOnly.join(', ')} only apply to --target kubernetes`, 'add --target kubernetes')
    }
    const ctx = await loadStack(configInput(flags), {engines: this.engines})
    await ctx.engine.ping()
    const render = () => renderStack(ctx, offlineResolver(ctx.engine), {force: flags.force, write: !flags.stdout})
    const rendered = flags.stdout ? await render() : await withStackLock(ctx, 'render', render)
    const override = ctx.compose.target.overrideFiles?.length ? ctx.paths.overrideFile : undefined
    if (flags.stdout && override) {
      // What will run: the user's override is part of it, so Compose itself merges the two.
      this.logToStderr(`with ${override} applied (docker compose config)`)
      this.log((await ctx.compose.mergedConfig(rendered.composeText)).trimEnd())
    } else if (flags.stdout) this.log(rendered.composeText.trimEnd())
    else this.log(`${rendered.written ? 'wrote' : 'unchanged'} ${ctx.paths.composeFile}`)
    return {composeFile: ctx.paths.composeFile, written: rendered.written, images: rendered.images}
  }

  private async kubernetes(flags: Interfaces.InferredFlags<typeof Render.flags>): Promise<KubernetesRenderResult> {
    if (flags.adopt) throw new UsageError('--adopt only applies to --target compose', 'omit --adopt')
    const render = await planKubernetes({
      config: configInput(flags),
      kubernetes: flags,
      version: this.config.version,
      stdout: flags.stdout,
      force: flags.force,
    })
    const result = flags.stdout
      ? render.result
      : await withStackLock(render.stack, 'render', () => writeKubernetes(render))
    const lines = describeKubernetes(result, flags['image-registry'] !== undefined)
    if (flags.stdout) {
      this.log(result.manifests?.trimEnd())
      for (const line of lines) this.logToStderr(line)
    } else {
      for (const line of lines) this.log(line)
    }
    return result
  }

  private async swarm(
    flags: Interfaces.InferredFlags<typeof Render.flags>,
    kubernetesOnly: string[],
  ): Promise<SwarmRenderResult> {
    const stray = kubernetesOnly.filter((flag) => flag !== '--replicas')
    if (stray.length > 0 || flags.adopt || flags.force) {
      throw new UsageError(
        `${[...stray, ...(flags.adopt ? ['--adopt'] : []), ...(flags.force ? ['--force'] : [])].join(', ')} do not apply to --target swarm`,
        'omit them',
      )
    }
    const sw = await loadSwarm(configInput(flags), {engines: this.engines})
    const render = () =>
      renderSwarmFile(sw, offlineResolver(sw.stack.engine), {replicas: flags.replicas, stdout: flags.stdout})
    const result = flags.stdout ? await render() : await withStackLock(sw.stack, 'render', render)
    if (flags.stdout) this.log(result.stackText?.trimEnd())
    else this.log(`wrote ${result.stackFile}`)
    const lines = [
      result.network,
      `pin the db before deploying by hand: docker node update --label-add ${result.dbNodeLabel} NODE`,
    ]
    for (const line of lines) {
      if (flags.stdout) this.logToStderr(line)
      else this.log(line)
    }
    return result
  }
}
