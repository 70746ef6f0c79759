/**
 * Kill mode's write phase: SIGKILL the db container while writes are in flight. The kill is sent once a
 * quarter of the visits are acknowledged and at least one write is pending. From then on the writers keep going
 * past the visits asked for, until the first write fails (or, once the engine confirms the container is dead,
 * for at most AFTER_KILL_MS more): the asked count can run out before the kill lands (seen on Podman: 40 visits
 * all answered while its kill was on its way, "the kill interrupted no write"), so writes are pending whenever
 * it dies, and few attempts are made against a server that is already gone.
 */
import {setTimeout as sleep} from 'node:timers/promises'

import type {Engine} from '../../engine/engine.js'

import {containerEnd} from './evidence.js'
import type {VisitWriter, WriteResult} from './load.js'
import type {KillReport} from './result.js'

/** How long writes go on after the engine confirmed the kill, when none has failed yet. */
export const AFTER_KILL_MS = 10_000

export interface KillOutcome {
  written: WriteResult
  kill: KillReport | null
  problems: string[]
}

export async function writeWhileKilling(
  engine: Engine,
  dbId: string,
  writer: VisitWriter,
  visits: number,
  afterKillMs = AFTER_KILL_MS,
): Promise<KillOutcome> {
  const killAfter = Math.max(1, Math.floor(visits / 4))
  const done = writer.run()
  let sent: {acknowledged: number; inFlight: number} | undefined
  let written: WriteResult
  try {
    if (await writer.until((s) => s.acknowledged >= killAfter && s.inFlight > 0)) {
      sent = writer.state
      writer.keepGoing()
      const killed = engine.containers.kill(dbId, 'SIGKILL')
      // A failed write after the kill means the server is gone: stop starting new ones that could only fail. A
      // db the engine says is dead while every write still succeeds: stop after a bound, and say so below.
      const failed = writer.until((s) => s.failed > 0)
      const bound = new AbortController()
      try {
        await Promise.race([failed, killed.then(() => sleep(afterKillMs, undefined, {signal: bound.signal}))])
      } finally {
        bound.abort()
      }
      writer.stop()
      await killed
    }
  } finally {
    writer.stop()
    written = await done
  }
  if (!sent) {
    return {
      written,
      kill: null,
      problems: ['every visit was answered before the kill could be sent: no write was in flight'],
    }
  }
  const end = await containerEnd(engine, dbId)
  const kill: KillReport = {
    acknowledgedBeforeKill: sent.acknowledged,
    inFlightAtKill: sent.inFlight,
    failedAfterKill: written.failed,
    dbExitCode: end.exitCode,
  }
  const problems: string[] = []
  if (end.running) problems.push('the db container was still running after SIGKILL')
  if (written.failed === 0) problems.push('the kill interrupted no write: every attempt was acknowledged')
  return {written, kill, problems}
}
