import {Flags} from '@oclif/core'

import {StackctlCommand} from '../lib/cli/base-command.js'
import {adoptFlag, configFlags, displayFlags, timeoutFlag} from '../lib/cli/flags.js'
import {CHECK_DEFAULTS, TEARDOWN_MODES} from '../lib/operations/verify/options.js'
import {deployTargetFlag, swarmTargetFlags} from '../lib/targets/swarm/cluster/flags.js'
import {SWARM_MODES} from '../lib/targets/swarm/disruptions.js'
import {targetFromFlags} from '../lib/targets/select.js'
import type {VerifyReport} from '../lib/targets/target.js'

export type {VerifyReport} from '../lib/targets/target.js'

export default class VerifyPersistence extends StackctlCommand {
  static override summary = 'Prove that acknowledged visits survive the stack being torn down and relaunched'
  static override description = `Writes visits through the API, records the id of every acknowledged one, tears the stack down (compose down, \
a forced recreate, or a SIGKILL of PostgreSQL while writes are in flight), proves through the Docker API \
that the containers are gone and the volume is the same, relaunches and checks that every acknowledged visit \
is there, the older rows are unchanged and the totals add up. It also audits fsync, synchronous_commit, \
full_page_writes and whether the data directory is on the stack's named volume.

With --target swarm (the stack deployed with up --target swarm), the modes are: down (docker stack rm, then \
a new deploy), kill (SIGKILL of the db container while visits are written; swarm restarts it on its pinned \
node) and drain (a node running an API replica but not the db is drained while visits are written through \
the URL: none may fail; the node is made active again afterwards). With the HA database (--db-replicas 3): \
failover (SIGKILL of the leader's node container), pause (the leader's node frozen until another member \
leads, then woken while visits are still written), partition (the leader's node cut from the other nodes by \
iptables rules inside its container until another member leads, then healed while visits are still written) \
and switchover (a planned change of leader).

The stack is left as found: started for the check and stopped afterwards only if it was not running. The \
data volume is never deleted. Exit 0 when the check passed, 1 when it failed, 2 for usage or environment \
problems.`
  static override examples = [
    '<%= config.bin %> verify-persistence',
    '<%= config.bin %> verify-persistence --visits 1000 --concurrency 16',
    '<%= config.bin %> verify-persistence --mode kill --visits 200 --concurrency 16 --json',
    '<%= config.bin %> verify-persistence --mode recreate --project-name demo --keep-running',
    '<%= config.bin %> verify-persistence --target swarm --mode drain',
  ]
  static override enableJsonFlag = true
  static override flags = {
    ...configFlags,
    ...adoptFlag,
    visits: Flags.string({summary: `Visits to write through the API [default: ${CHECK_DEFAULTS.visits}]`}),
    concurrency: Flags.string({summary: `Concurrent clients writing them [default: ${CHECK_DEFAULTS.concurrency}]`}),
    mode: Flags.string({
      summary: `How to take the stack apart [default: ${CHECK_DEFAULTS.mode}]`,
      options: [...new Set([...TEARDOWN_MODES, ...SWARM_MODES])],
    }),
    'keep-running': Flags.boolean({summary: 'Leave the stack running afterwards even if it was not running before'}),
    ...timeoutFlag,
    ...displayFlags,
    ...deployTargetFlag,
    ...swarmTargetFlags,
  }

  async run(): Promise<VerifyReport> {
    const {flags} = await this.parse(VerifyPersistence)
    const target = targetFromFlags(flags, 'verify-persistence', this.engines)
    const {mode, visits, concurrency} = flags
    // A failed check still prints its whole result (with --json, oclif prints the returned object), then exits
    // 1 — or 2 when a usage or environment problem cut it short.
    return this.report(
      await target.verifyPersistence(
        {mode, visits, concurrency, keepRunning: flags['keep-running']},
        this.targetIo(flags),
      ),
    )
  }
}
