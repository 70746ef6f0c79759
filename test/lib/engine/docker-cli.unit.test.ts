import {expect} from 'chai'

import {DockerCli, pullArgs, serviceLogsArgs, stackDeployArgs} from '../../../src/lib/engine/docker-cli.js'

describe('DockerCli (the one docker boundary)', () => {
  // Methods that run arguments built elsewhere refuse any other verb, before a process is started.
  const cli = new DockerCli('unix:///nonexistent/stackctl-test.sock')

  it('runs only the verb a method names', async () => {
    const refusals = await Promise.all([
      cli.compose(['rm', '--force', 'x']).catch((error: Error) => error.message),
      cli.build(['rmi', 'x']).catch((error: Error) => error.message),
      cli.createNetwork(['network', 'rm', 'x']).catch((error: Error) => error.message),
      cli.createVolume(['volume', 'rm', 'x']).catch((error: Error) => error.message),
      cli.runContainer(['rm', 'x']).catch((error: Error) => error.message),
      cli.importTar(['--create'], ['rmi', 'x']).catch((error: Error) => error.message),
    ])
    expect(refusals).to.deep.equal([
      'not a Compose command: docker rm --force x',
      'not a build: docker rmi x',
      'not docker network create: network rm x',
      'not docker volume create: volume rm x',
      'not docker run: rm x',
      'not an import: docker rmi x',
    ])
  })

  it('builds the arguments of stack deploy, service logs and pull', () => {
    expect(stackDeployArgs({stack: 'demo', files: ['a.yml', 'b.yml'], resolveImage: 'never'})).to.deep.equal([
      'stack',
      'deploy',
      '--detach=true',
      '--prune',
      '--resolve-image',
      'never',
      '--compose-file',
      'a.yml',
      '--compose-file',
      'b.yml',
      'demo',
    ])
    expect(serviceLogsArgs('demo_db', {follow: true, tail: 5})).to.deep.equal([
      'service',
      'logs',
      '--no-trunc',
      '--follow',
      '--tail',
      '5',
      'demo_db',
    ])
    expect(pullArgs('postgres:17')).to.deep.equal(['pull', '--quiet', 'postgres:17'])
  })
})
