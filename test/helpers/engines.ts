/**
 * The four engines this machine runs (issue 24) and how to reach each: its API socket, the command that starts
 * it, and for a rootless one the unprivileged user stackctl must run as (its stack files must be that user's).
 * The engine tests (test/engines) and the benchmark's engines step (bench/engines.ts) both reach them from here.
 */
import {readFileSync} from 'node:fs'

export const ENGINE_KEYS = ['docker', 'docker-rootless', 'podman', 'podman-rootless'] as const
export type EngineKey = (typeof ENGINE_KEYS)[number]

export interface EngineUser {
  uid: number
  gid: number
  home: string
}

export interface EngineAccess {
  key: EngineKey
  /** "rootful Podman", "rootless Docker". */
  title: string
  kind: 'docker' | 'podman'
  rootless: boolean
  /** The engine's API socket. */
  socket: string
  /** How to start it, as pasted in a shell on this machine. */
  provision: string
  /** A rootless engine's own user, from /etc/passwd; undefined before its script created the user. */
  user?: EngineUser
  /** The user's name, for the message when it does not exist. */
  userName?: string
}

/** A user from /etc/passwd (or the given text); undefined when there is none of that name. */
export function passwdUser(name: string, passwd = readFileSync('/etc/passwd', 'utf8')): EngineUser | undefined {
  const line = passwd.split('\n').find((entry) => entry.startsWith(`${name}:`))
  if (!line) return undefined
  const [, , uid, gid, , home] = line.split(':')
  return {uid: Number(uid), gid: Number(gid), home}
}

/** Which engine answers, from the components of its GET /version: Podman names its own. */
export function engineKindOf(components: ReadonlyArray<{Name: string}> | undefined): 'docker' | 'podman' | undefined {
  const names = (components ?? []).map((c) => c.Name)
  if (names.includes('Podman Engine')) return 'podman'
  return names.includes('Engine') ? 'docker' : undefined
}

export function engineAccess(key: EngineKey, env: NodeJS.ProcessEnv = process.env): EngineAccess {
  const kind = key.startsWith('podman') ? 'podman' : 'docker'
  const name = kind === 'podman' ? 'Podman' : 'Docker'
  if (key === 'docker') {
    return {
      key,
      title: 'rootful Docker',
      kind,
      rootless: false,
      socket: '/var/run/docker.sock',
      provision: 'sudo bash scripts/docker-engine.sh',
    }
  }
  if (key === 'podman') {
    return {
      key,
      title: 'rootful Podman',
      kind,
      rootless: false,
      socket: env.STACKCTL_PODMAN_SOCKET ?? '/run/podman/podman.sock',
      provision: 'sudo bash scripts/podman-engine.sh',
    }
  }
  const userName = `stackctl-${kind}`
  const user = passwdUser(userName)
  const run = `/run/user/${user?.uid ?? `(no user ${userName})`}`
  return {
    key,
    title: `rootless ${name}`,
    kind,
    rootless: true,
    socket: kind === 'podman' ? `${run}/podman/podman.sock` : `${run}/docker.sock`,
    provision: `sudo bash scripts/rootless-engine.sh ${kind}`,
    user,
    userName,
  }
}
