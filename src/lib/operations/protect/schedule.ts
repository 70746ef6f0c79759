/**
 * Scheduled backups (model/backup-schedule.ts) run by a small loop in the db container, so they go on without
 * stackctl: every start of an archiving db (up, start, restart, a restore's switch) writes the schedule next to
 * the repository and starts the loop when it is not running. The loop is a detached exec: the engine's shim is
 * its parent, so PostgreSQL (the container's PID 1) never reaps it or its pgBackRest; one flock keeps it single.
 * It reads the schedule on every round (a changed `--backup-every` needs no restart, and a backup in progress is
 * never killed for one), decides from the repository's own backup labels (a restarted container does not
 * reset the clock), runs pgBackRest with `--no-expire-auto` (retention would otherwise expire snapshots, which
 * are full backups too) and expires only the scheduled fulls beyond the newest SCHEDULED_FULLS_KEPT, each with
 * `--set` as `snapshot delete` does: no other backup and no archived WAL goes with it. Each round's outcome
 * is written to `stackctl-schedule/last` for status and doctor.
 */
import {runningService} from '../../engine/services.js'
import type {ContainerSummary} from '../../engine/engine.js'
import {describeSchedule, SCHEDULED_FULLS_KEPT, type BackupSchedule} from '../../model/backup-schedule.js'
import {stackCommand} from '../../model/config/command-line.js'
import {DB_OS_USER} from '../../model/config/stack-config.js'
import {REPO_PATH, STANZA} from '../../model/protection.js'
import type {StackContext} from '../../stack/context.js'
import type {CheckResult} from '../doctor/checks.js'
import {NAME_KEY} from './snapshot.js'

export const SCHEDULE_DIR = `${REPO_PATH}/stackctl-schedule`
/** The annotation a scheduled backup carries: `full` or `diff`. */
export const SCHEDULE_KEY = 'stackctl-schedule'
const LOCK = '/tmp/stackctl-backup-schedule.lock'
const LOOP = `${SCHEDULE_DIR}/loop.sh`
/** What ensureBackupSchedule's exec prints after writing the schedule: whether the loop holds its lock. */
const LOOP_STOPPED = 'loop-stopped'
const LOOP_RUNNING = 'loop-running'

/** How often the loop looks: a quarter of the diff cadence, between 2 s and a minute. */
export function checkSeconds(schedule: BackupSchedule): number {
  return Math.min(60, Math.max(2, Math.floor(schedule.everySeconds / 4)))
}

/**
 * The loop, as one `sh -c` script run as postgres. Labels are pgBackRest's (`20261207-044026F`,
 * `…F_20261208-010000D`): the last stamp is when that backup started, in the container's time (UTC).
 */
export function scheduleScript(): string {
  return `set -u
state=${SCHEDULE_DIR}
mkdir -p "$state" || exit 1
exec 9>${LOCK}
flock -n 9 || exit 0
# The running cluster's backups only (after a db upgrade the earlier major's are listed as prior), oldest first.
labels() { pgbackrest --stanza=${STANZA} info 2>/dev/null | sed -n '/^ *db (current)/,/^ *db (prior)/p' | sed -n 's/^ *\\(full\\|diff\\|incr\\) backup: \\([0-9FDI_-]*\\).*/\\2/p'; }
snapshot() { pgbackrest --stanza=${STANZA} --set="$1" info 2>/dev/null | grep -q '^ *${NAME_KEY}: '; }
epoch() { date -u -d "$(printf '%s' "$1" | sed 's/^\\(....\\)\\(..\\)\\(..\\)-\\(..\\)\\(..\\)\\(..\\)$/\\1-\\2-\\3 \\4:\\5:\\6/')" +%s 2>/dev/null || echo 0; }
first=1
while :; do
  if ! read -r every full check < "$state/settings"; then sleep 60; continue; fi
  # One round's wait first: the start that launched the loop may still be taking its first backup.
  if [ "$first" = 1 ]; then first=0; sleep "$check"; continue; fi
  now=$(date -u +%s); newest=0; newest_full=0; newest_full_label=
  before=$(labels)
  for label in $before; do
    stamp=\${label##*_}; stamp=\${stamp%?}; at=$(epoch "$stamp")
    [ "$at" -gt "$newest" ] && newest=$at
    case "$label" in *_*) ;; *) [ "$at" -gt "$newest_full" ] && newest_full=$at && newest_full_label=$label ;; esac
  done
  # No full backup yet: up takes the first one, never the loop.
  if [ "$newest_full" -eq 0 ]; then sleep "$check"; continue; fi
  type=
  if [ $((now - newest_full)) -ge "$full" ]; then type=full; elif [ $((now - newest)) -ge "$every" ]; then type=diff; fi
  # A diff depends on the newest full: never on a snapshot, which snapshot delete would take it away with.
  if [ "$type" = diff ] && snapshot "$newest_full_label"; then type=full; fi
  if [ -n "$type" ]; then
    out=$(pgbackrest --stanza=${STANZA} --no-expire-auto --annotation=${SCHEDULE_KEY}=$type --type=$type backup 2>&1); rc=$?
    label=$(labels | tail -n 1)
    if [ "$rc" -ne 0 ] || printf '%s\\n' "$before" | grep -qxF "$label"; then label=; fi
    said=$(printf '%s' "$out" | tail -n 1 | tr '|\\n' '/ ')
    printf '%s|%s|%s|%s|%s|%s\\n' "$now" "$(date -u +%s)" "$type" "$rc" "$label" "$said" > "$state/last.tmp" && mv "$state/last.tmp" "$state/last"
    if [ "$rc" -eq 0 ] && [ "$type" = full ] && [ -n "$label" ]; then
      # The fulls that are not snapshots (up's first one included), oldest first; all but the newest ${SCHEDULED_FULLS_KEPT} go.
      ours=
      for f in $(labels | grep -v _); do snapshot "$f" || ours="$ours $f"; done
      count=$(printf '%s\\n' $ours | grep -c .)
      for old in $ours; do
        [ "$count" -le ${SCHEDULED_FULLS_KEPT} ] && break
        pgbackrest --stanza=${STANZA} --set="$old" --repo1-retention-full=9999999 --repo1-retention-archive=9999999 expire >/dev/null 2>&1 || break
        count=$((count - 1))
      done
    fi
    # A failed backup (a full repository, say) is tried again after five rounds, not every round.
    [ "$rc" -ne 0 ] && sleep $((check * 4))
  fi
  sleep "$check"
done`
}

/** Writes the schedule the loop reads, and starts the loop unless it runs. Quiet: a start's step says it. */
export async function ensureBackupSchedule(
  ctx: StackContext,
  db?: ContainerSummary,
): Promise<'started' | 'running' | 'off'> {
  const schedule = ctx.config.backupSchedule
  const container = db ?? (await runningService(ctx.engine, ctx.config.project, 'db'))
  if (!ctx.config.walArchive || !container) return 'off'
  // The loop's script is written next to its state, so `ps` shows `sh …/loop.sh`, not the whole script. Off:
  // the settings are removed, and a loop still running finds none and waits (it never backs up without them).
  const settingsStep = schedule
    ? `printf '%s\\n' "$2" > ${SCHEDULE_DIR}/settings.tmp && mv ${SCHEDULE_DIR}/settings.tmp ${SCHEDULE_DIR}/settings`
    : `rm -f ${SCHEDULE_DIR}/settings`
  // One exec: write, then (with a schedule) look whether the loop runs: it holds the lock for as long as it runs,
  // so a lock that can be taken means no loop.
  const probe = schedule ? ` && { flock -n ${LOCK} true && echo ${LOOP_STOPPED} || echo ${LOOP_RUNNING}; }` : ''
  const script = `mkdir -p ${SCHEDULE_DIR} && printf '%s\\n' "$1" > ${LOOP}.tmp && mv ${LOOP}.tmp ${LOOP} && ${settingsStep}${probe}`
  const settings = schedule ? `${schedule.everySeconds} ${schedule.fullEverySeconds} ${checkSeconds(schedule)}` : ''
  const write = await ctx.engine.containers.exec(container.id, ['sh', '-c', script, 'sh', scheduleScript(), settings], {
    user: DB_OS_USER,
  })
  if (write.exitCode !== 0) {
    ctx.progress(
      `warning: scheduled backups not set up: ${write.stderr.trim() || 'the schedule could not be written'}; ${stackCommand(ctx.config, 'doctor')} checks the WAL archive`,
    )
    return 'off'
  }
  if (!schedule) return 'off'
  if (write.stdout.trim() !== LOOP_STOPPED) return 'running'
  await ctx.engine.containers.execDetached(container.id, ['sh', LOOP], {user: DB_OS_USER})
  return 'started'
}

async function loopRunning(ctx: StackContext, id: string): Promise<boolean> {
  // The loop holds the lock for as long as it runs: a lock that can be taken means no loop.
  const probe = await ctx.engine.containers.exec(id, ['sh', '-c', `flock -n ${LOCK} true`], {user: DB_OS_USER})
  return probe.exitCode !== 0
}

export interface ScheduleStatus {
  /** The schedule stack.json asks for, described; null when scheduled backups are off. */
  schedule: string | null
  running: boolean
  last: {
    type: string
    at: string
    seconds: number
    ok: boolean
    label: string | null
    message: string | null
  } | null
}

/** `started|ended|type|rc|label|message`, as the loop writes it; undefined for anything else. */
export function parseLast(line: string): ScheduleStatus['last'] | undefined {
  const [started, ended, type, rc, label, ...rest] = line.trim().split('|')
  if (!/^\d+$/.test(started ?? '') || !/^\d+$/.test(ended ?? '') || !/^(full|diff)$/.test(type ?? '')) return undefined
  if (!/^\d+$/.test(rc ?? '')) return undefined
  const message = rest.join('|').trim()
  return {
    type,
    at: new Date(Number(started) * 1000).toISOString(),
    seconds: Number(ended) - Number(started),
    ok: rc === '0',
    label: label || null,
    message: rc === '0' || message === '' ? null : message,
  }
}

/** What the loop last did, and whether it runs; undefined when the db is not running or does not archive. */
export async function scheduleStatus(ctx: StackContext): Promise<ScheduleStatus | undefined> {
  if (!ctx.config.walArchive) return undefined
  const db = await runningService(ctx.engine, ctx.config.project, 'db')
  if (!db) return undefined
  const [running, last] = await Promise.all([
    loopRunning(ctx, db.id),
    ctx.engine.containers.exec(db.id, ['sh', '-c', `cat ${SCHEDULE_DIR}/last 2>/dev/null || true`], {user: DB_OS_USER}),
  ])
  const schedule = ctx.config.backupSchedule
  return {
    schedule: schedule ? describeSchedule(schedule) : null,
    running,
    last: parseLast(last.stdout) ?? null,
  }
}

/**
 * doctor's `backups` check (and status's `backups` line): the schedule, what it last did, and whether its loop
 * runs; undefined when the stack does not archive or its db is not running (the `archiving` check says so).
 */
export async function scheduleCheck(ctx: StackContext, now = new Date()): Promise<CheckResult | undefined> {
  if (ctx.state?.settings.resolvedImageSource === 'registry') return undefined
  const status = await scheduleStatus(ctx)
  if (!status) return undefined
  const name = 'backups'
  if (status.schedule === null) {
    return {
      name,
      status: 'ok',
      detail:
        'scheduled backups off (--backup-every off): a restore starts from the newest backup up or snapshot create took, and replays every WAL segment since',
    }
  }
  const last = status.last
    ? `last: ${status.last.type}${status.last.label ? ` ${status.last.label}` : ''} ${ago(status.last.at, now)}`
    : 'none taken yet'
  if (!status.running) {
    return {
      name,
      status: 'warn',
      detail: `scheduled backups (${status.schedule}) are not running: the db was started outside stackctl (docker restart, or the engine's restart policy); ${last}`,
      fix: `${stackCommand(ctx.config, 'up')} starts them again (the running stack is left as it is)`,
    }
  }
  if (status.last && !status.last.ok) {
    return {
      name,
      status: 'warn',
      detail: `the last scheduled ${status.last.type} backup, ${ago(status.last.at, now)}, failed: ${status.last.message ?? 'no message'}; it is tried again by itself`,
      fix: `${stackCommand(ctx.config, 'snapshot create')} takes a backup now and shows pgBackRest's error`,
    }
  }
  return {
    name,
    status: 'ok',
    detail: `${status.schedule}; ${last}${status.last ? ` (${status.last.seconds} s)` : ''}`,
  }
}

function ago(iso: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000))
  if (seconds < 120) return `${seconds} s ago`
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`
  return `${Math.round(seconds / 86_400)} days ago`
}
