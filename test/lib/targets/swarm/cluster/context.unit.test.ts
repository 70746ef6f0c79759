import {expect} from 'chai'

import {managerDocker, swarmCommand, tasksHint} from '../../../../../src/lib/targets/swarm/cluster/context.js'

/** Only what the hints read: the stack's address and the chosen swarm. */
function sw(endpoint: string, config = {dir: '/work/my stack/.stackctl', project: 'shop'}) {
  return {stack: {config}, target: {endpoint, reason: ''}} as unknown as Parameters<typeof swarmCommand>[0]
}

describe('swarm hints', () => {
  it('address the stack (--dir, --project-name) and a local swarm’s manager (--docker-host), quoted for the shell', () => {
    const local = sw('unix:///root/.local/state/stackctl/swarms/dev/node1/docker.sock')
    expect(swarmCommand(local, 'status')).to.equal(
      "stackctl status --dir '/work/my stack/.stackctl' --project-name shop --target swarm --docker-host unix:///root/.local/state/stackctl/swarms/dev/node1/docker.sock",
    )
    expect(managerDocker(local, 'stack ps shop')).to.equal(
      'docker --host unix:///root/.local/state/stackctl/swarms/dev/node1/docker.sock stack ps shop',
    )
    expect(tasksHint(local)).to.match(
      /^see the tasks with: stackctl status .* --docker-host \S+ \(or docker --host \S+ stack ps --no-trunc shop\)$/,
    )
  })

  it('leave --docker-host out for this machine’s own engine (a control: the flag is added only when needed)', () => {
    const here = sw('unix:///var/run/docker.sock', {dir: '/work/my stack/.stackctl', project: 'shop'})
    expect(swarmCommand(here, 'up')).to.equal(
      "stackctl up --dir '/work/my stack/.stackctl' --project-name shop --target swarm",
    )
    expect(managerDocker(here, 'stack ps shop')).to.equal('docker stack ps shop')
  })
})
