// Mocha's spec output, plus one plain closing line "N passed, N failed, N skipped" that CI reads.
//
// It also makes Ctrl-C (and SIGTERM) stop a test file cleanly: serial mocha has no handler of its own, so the
// signal used to end the process at once and the file's `after` hooks, which remove its stacks and volumes,
// never ran. Now the runner is aborted instead: the test under way ends (the stackctl it waits on got the same
// signal), no further test starts, and the `after` hooks run. A second Ctrl-C ends it at once.
const Mocha = require('mocha')

const {Spec} = Mocha.reporters
const {EVENT_RUN_END} = Mocha.Runner.constants

class SummaryReporter extends Spec {
  constructor(runner, options) {
    super(runner, options)
    let interrupted
    let interruptedAt = 0
    const listeners = new Map()
    const interrupt = (signal) => {
      // mocha's own launcher (bin/mocha) forwards a Ctrl-C as SIGINT and then SIGTERM at once: that is one.
      if (interrupted && Date.now() - interruptedAt < 2000) return
      if (interrupted) {
        // A second Ctrl-C: mocha's default, ended at once.
        for (const [name, listener] of listeners) process.off(name, listener)
        process.kill(process.pid, signal)
        return
      }
      interrupted = signal
      interruptedAt = Date.now()
      process.stdout.write(`\n${signal}: stopping after the test under way; the after hooks clean up\n`)
      runner.abort()
    }
    for (const signal of ['SIGINT', 'SIGTERM']) {
      listeners.set(signal, () => interrupt(signal))
      process.on(signal, listeners.get(signal))
    }
    runner.once(EVENT_RUN_END, () => {
      const {passes, failures, pending} = runner.stats
      process.stdout.write(`\n${passes} passed, ${failures} failed, ${pending} skipped\n`)
    })
  }
}

module.exports = SummaryReporter
