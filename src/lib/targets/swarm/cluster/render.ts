/**
 * `stackctl render --target swarm`: the stack file `up --target swarm` would deploy, without touching a swarm:
 * for `docker stack deploy -c stack.yml` by hand. The modes follow this machine's kernel (IPVS or not), the
 * secret version and replicas what the last deploy recorded.
 */
import {existsSync} from 'node:fs'

import {writeFileAtomic} from '../../../model/stackdir/files.js'
import type {ImageResolver} from '../../../stack/images.js'
import {resolveImages} from '../../../stack/images.js'
import {appIdentity} from '../../../stack/render-stack.js'
import {ensurePasswordFile, ensureStackDir, newStackId, prepareAppContext} from '../../../model/stackdir/stack-files.js'
import {dbNodeLabel} from '../db-node.js'
import {networkModes} from '../modes.js'
import type {SwarmContext} from './context.js'
import {DEFAULT_REPLICAS, recordStack, swarmStackText} from './deploy.js'

export interface SwarmRenderResult {
  target: 'swarm'
  stackFile: string
  written: boolean
  /** The node label the db is pinned by: set it on the db's node before deploying by hand. */
  dbNodeLabel: string
  network: string
  stackText: string | null
}

export async function renderSwarmFile(
  sw: Pick<SwarmContext, 'stack' | 'swarmState' | 'stackFile'>,
  resolver: ImageResolver,
  options: {replicas?: number; stdout?: boolean},
): Promise<SwarmRenderResult> {
  const {config, paths} = sw.stack
  const {images} = await resolveImages(config.imageSource, config.pgMajor, undefined, resolver)
  let appTag = 'unbuilt'
  const stackId = sw.stack.state?.stackId ?? sw.swarmState?.stackId ?? newStackId()
  if (!options.stdout) {
    await ensureStackDir(paths)
    await recordStack(sw, stackId, images.source)
    const identity = appIdentity()
    await ensurePasswordFile(paths, identity.uid, identity.gid)
    appTag = await prepareAppContext(paths, images.node)
  }
  const modes = networkModes(existsSync('/proc/net/ip_vs'))
  const text = await swarmStackText(sw, {
    images,
    appImage: `stackctl-app:${appTag}`,
    stackId,
    replicas: options.replicas ?? sw.swarmState?.replicas ?? DEFAULT_REPLICAS,
    secretVersion: sw.swarmState?.secretVersion ?? 1,
    modes: modes.modes,
  })
  if (!options.stdout) await writeFileAtomic(sw.stackFile, text, 0o644)
  return {
    target: 'swarm',
    stackFile: sw.stackFile,
    written: !options.stdout,
    dbNodeLabel: `${dbNodeLabel(config.project)}=true`,
    network: `${modes.reason} (this machine’s kernel)`,
    stackText: options.stdout ? text : null,
  }
}
