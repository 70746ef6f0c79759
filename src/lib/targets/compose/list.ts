/**
 * `stackctl ls`: every stackctl stack on this engine, found by the io.stackctl labels on its containers and
 * volumes — running, stopped, or only a kept volume after `down`.
 */
import {LABELS} from '../../model/config/labels.js'
import {volumeName} from '../../model/config/stack-config.js'
import {BACKUPS_ROLE_LABEL} from '../../operations/protect/archive.js'
import type {ContainerSummary, Engine, VolumeInfo} from '../../engine/engine.js'
import {confirmReadinessAt} from './readiness.js'

export interface ListedStack {
  project: string
  /** running (every service up), partly running, stopped (containers, none running), down (only the volume) */
  state: 'running' | 'partly running' | 'stopped' | 'down'
  services: Array<{name: string; state: string; health: string}>
  url: string | null
  volume: {name: string; exists: boolean; sizeBytes: number | null}
  /** The stack directory its containers name; null when only the volume is left. */
  dir: string | null
}

/** Pure: groups the labelled containers and volumes into stacks, sorted by project. */
export function groupStacks(containers: readonly ContainerSummary[], volumes: readonly VolumeInfo[]): ListedStack[] {
  const projects = new Set([
    ...containers.map((c) => c.labels[LABELS.project] ?? c.project),
    ...volumes.map((v) => v.labels[LABELS.project]).filter((p): p is string => Boolean(p)),
  ])
  return [...projects].sort().map((project) => {
    const own = containers.filter((c) => (c.labels[LABELS.project] ?? c.project) === project)
    // After db upgrade a stack has several volumes: the one its db mounts is the one it runs on.
    const mounted = own.find((c) => c.service === 'db')?.volumes ?? []
    // The WAL archive's volume is mounted by the db too, but it is not the data the stack runs on.
    const candidates = volumes.filter(
      (v) => v.labels[LABELS.project] === project && v.labels[BACKUPS_ROLE_LABEL] !== 'backups',
    )
    const volume = candidates.find((v) => mounted.includes(v.name)) ?? candidates[0]
    const running = own.filter((c) => c.state === 'running').length
    const state =
      own.length === 0 ? 'down' : running === own.length ? 'running' : running > 0 ? 'partly running' : 'stopped'
    const published = own.find((c) => c.service === 'app')?.ports.find((p) => p.hostPort !== undefined)
    return {
      project,
      state,
      services: own.map((c) => ({name: c.service, state: c.state, health: c.health})),
      url: published ? appUrlOf(published.hostIp, published.hostPort!) : null,
      volume: {name: volume?.name ?? volumeName(project), exists: volume !== undefined, sizeBytes: null},
      dir: own.find((c) => c.labels[LABELS.dir])?.labels[LABELS.dir] ?? null,
    }
  })
}

/** A URL one can open: an unspecified bind address is reached on loopback. */
function appUrlOf(hostIp: string | undefined, port: number): string {
  const host = !hostIp || hostIp === '0.0.0.0' || hostIp === '::' ? '127.0.0.1' : hostIp
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

export async function listStacks(engine: Engine): Promise<ListedStack[]> {
  await engine.ping()
  const listed = await engine.containers.list({label: LABELS.stackId})
  const volumes = await engine.volumes.list(LABELS.stackId)
  // The engine's first check comes 60 s after a start: the same readiness view as status (its probe).
  const containers: ContainerSummary[] = []
  for (const stack of groupStacks(listed, [])) {
    const own = listed.filter((c) => (c.labels[LABELS.project] ?? c.project) === stack.project)
    const stackId = own.find((c) => c.service === 'app')?.labels[LABELS.stackId]
    containers.push(...(stack.url ? await confirmReadinessAt(own, engine, stack.url, stackId) : own))
  }
  const stacks = groupStacks(containers, volumes)
  for (const stack of stacks) {
    if (stack.volume.exists) stack.volume.sizeBytes = await engine.volumes.sizeBytes(stack.volume.name)
  }
  return stacks
}
