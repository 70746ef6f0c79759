/** `render --target kubernetes`: a render-only target (kustomize manifests; nothing runs there from stackctl). */
import type {StackConfigInput} from '../../model/config/stack-config.js'
import {planKubernetes, writeKubernetes} from './render-kubernetes.js'
import type {KubernetesFlags} from './options.js'
import {describeKubernetes} from './report.js'
import {withStackLock} from '../../stack/lock.js'
import type {CommandIo, RenderOptions, Renderer} from '../target.js'

export class KubernetesRenderer implements Renderer {
  readonly name = 'kubernetes'

  constructor(
    private readonly input: StackConfigInput & {adopt?: boolean},
    private readonly flags: KubernetesFlags,
    private readonly version: string,
  ) {}

  async render(options: RenderOptions, _io: CommandIo) {
    const render = await planKubernetes({
      config: this.input,
      kubernetes: this.flags,
      version: this.version,
      stdout: Boolean(options.stdout),
      force: Boolean(options.force),
    })
    const result = options.stdout
      ? render.result
      : await withStackLock(render.stack, 'render', () => writeKubernetes(render))
    const lines = describeKubernetes(result, this.flags['image-registry'] !== undefined)
    if (!options.stdout) return {result, lines}
    return {result, lines: [result.manifests?.trimEnd() ?? ''], notes: lines}
  }
}
