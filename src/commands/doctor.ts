import {StackctlCommand} from '../lib/cli/base-command.js'
import {runDoctor, type DoctorReport} from '../lib/operations/doctor/checks.js'
import {configFlags, configInput} from '../lib/cli/flags.js'
import {loadStack} from '../lib/stack/context.js'

const MARK = {ok: 'ok  ', warn: 'warn', fail: 'FAIL'} as const

export default class Doctor extends StackctlCommand {
  static override summary = 'Check that this machine can run the stack, and say how to fix what is missing'
  static override description = `Checks the Docker engine, Compose v2, the base images, the port, free disk space where Docker keeps its \
data, the stack directory and the password against the data volume. Changes nothing. Exits 1 when any check \
fails.`
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --port 8080 --json']
  static override enableJsonFlag = true
  static override flags = {...configFlags}

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor)
    const report = await runDoctor(await loadStack(configInput(flags), {engines: this.engines}))
    for (const check of report.checks) {
      this.log(`${MARK[check.status]}  ${check.name.padEnd(10)} ${check.detail}`)
      if (check.fix && check.status !== 'ok') this.log(`${' '.repeat(16)}fix: ${check.fix}`)
    }
    this.log(report.passed ? 'all checks passed' : 'some checks failed')
    if (!report.passed) this.exitAfterOutput(1)
    return report
  }
}
