/**
 * Every command, by id: oclif finds them here (package.json `oclif.commands`, the explicit strategy), so the
 * build can bundle them into one module graph instead of hundreds of files (scripts/bundle-cli.mjs).
 * test/commands/index.unit.test.ts keeps this list equal to the files in this folder.
 */
import DbExport from './db/export.js'
import DbFailover from './db/failover.js'
import DbImport from './db/import.js'
import DbPruneOld from './db/prune-old.js'
import DbRestore from './db/restore.js'
import DbSwitchover from './db/switchover.js'
import DbRollback from './db/rollback.js'
import DbUpgrade from './db/upgrade.js'
import DbUrl from './db/url.js'
import Describe from './describe.js'
import Doctor from './doctor.js'
import Down from './down.js'
import Exec from './exec.js'
import ImagesBuild from './images/build.js'
import Logs from './logs.js'
import Ls from './ls.js'
import Open from './open.js'
import Psql from './psql.js'
import Render from './render.js'
import Restart from './restart.js'
import SnapshotCreate from './snapshot/create.js'
import SnapshotDelete from './snapshot/delete.js'
import SnapshotList from './snapshot/list.js'
import SnapshotRestore from './snapshot/restore.js'
import Start from './start.js'
import Status from './status.js'
import Stop from './stop.js'
import SwarmDown from './swarm/down.js'
import SwarmStatus from './swarm/status.js'
import SwarmUp from './swarm/up.js'
import Up from './up.js'
import VerifyPersistence from './verify-persistence.js'
import Version from './version.js'
import VolumeBackup from './volume/backup.js'
import VolumeInspect from './volume/inspect.js'
import VolumeRestore from './volume/restore.js'

export const COMMANDS = {
  'db:export': DbExport,
  'db:failover': DbFailover,
  'db:import': DbImport,
  'db:prune-old': DbPruneOld,
  'db:restore': DbRestore,
  'db:switchover': DbSwitchover,
  'db:rollback': DbRollback,
  'db:upgrade': DbUpgrade,
  'db:url': DbUrl,
  describe: Describe,
  doctor: Doctor,
  down: Down,
  exec: Exec,
  'images:build': ImagesBuild,
  logs: Logs,
  ls: Ls,
  open: Open,
  psql: Psql,
  render: Render,
  restart: Restart,
  'snapshot:create': SnapshotCreate,
  'snapshot:delete': SnapshotDelete,
  'snapshot:list': SnapshotList,
  'snapshot:restore': SnapshotRestore,
  start: Start,
  status: Status,
  stop: Stop,
  'swarm:down': SwarmDown,
  'swarm:status': SwarmStatus,
  'swarm:up': SwarmUp,
  up: Up,
  'verify-persistence': VerifyPersistence,
  version: Version,
  'volume:backup': VolumeBackup,
  'volume:inspect': VolumeInspect,
  'volume:restore': VolumeRestore,
}
