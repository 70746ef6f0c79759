/** The scan of an override file for bind mounts that hand a container this machine. */
import {expect} from 'chai'
import {parse} from 'yaml'

import {exposureWarnings} from '../../../../src/lib/targets/compose/exposure.js'
import {bindMount, sensitiveMounts, whySensitive} from '../../../../src/lib/targets/compose/override-mounts.js'

const where = {dir: '/srv/stacks/demo', home: '/home/dev'}
const scan = (yaml: string) => sensitiveMounts(parse(yaml), where)

describe('override bind mounts', () => {
  it('finds / in short and long syntax, naming the service and the path', () => {
    const [short] = scan('services:\n  app:\n    volumes: ["/:/host"]\n')
    expect(short).to.include({service: 'app', source: '/', target: '/host', readOnly: false})
    expect(short.why).to.include('read and change every file')
    const [long] = scan('services:\n  db:\n    volumes: [{type: bind, source: /, target: /h, read_only: true}]\n')
    expect(long).to.include({service: 'db', source: '/', readOnly: true})
    expect(long.why).to.include('read every file')
  })

  it('finds the Docker socket, system directories and the home directory', () => {
    const found = scan(`services:
  app:
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - /etc:/host-etc:ro
      - ~:/h
      - /var:/v
      - /root/.ssh:/keys
`)
    expect(found.map((m) => m.source)).to.deep.equal([
      '/var/run/docker.sock',
      '/etc',
      '/home/dev',
      '/var',
      '/root/.ssh',
    ])
    expect(found[0].why).to.include('control the engine')
    expect(found[3].why).to.include('holds the Docker socket')
  })

  it('resolves relative sources from the stack directory: ../../.. is /', () => {
    expect(scan('services:\n  app:\n    volumes: ["../../..:/x"]\n').map((m) => m.source)).to.deep.equal(['/'])
  })

  it('leaves ordinary mounts alone (negative controls)', () => {
    const yaml = `services:
  app:
    volumes:
      - ./src:/app/src
      - /home/dev/project/src:/app/src:ro
      - /etc/localtime:/etc/localtime:ro
      - postgres_data:/var/lib/postgresql/data
      - /tmp/cache
      - \${SRC}:/src
      - {type: volume, source: data, target: /data}
`
    expect(scan(yaml)).to.deep.equal([])
    expect(scan('services:\n  app:\n    environment: {A: b}\n')).to.deep.equal([])
    expect(sensitiveMounts(null, where)).to.deep.equal([])
  })

  it('reads the mount forms Compose accepts', () => {
    expect(bindMount('/:/host:ro,z', where)).to.deep.equal({source: '/', target: '/host', readOnly: true})
    expect(bindMount('data:/d', where)).to.equal(undefined)
    expect(bindMount('$HOME/.ssh:/k', where)?.source).to.equal('/home/dev/.ssh')
    expect(whySensitive('/etc/localtime', false, '/home/dev')).to.include('/etc')
    expect(whySensitive('/opt/data', false, '/home/dev')).to.equal(undefined)
  })

  it('is one of the exposure warnings up, status and doctor print', () => {
    const local = {host: '127.0.0.1', port: 5000}
    const [warning] = exposureWarnings(local, 'services:\n  app:\n    volumes: ["/:/host"]\n', where)
    expect(warning).to.equal(
      "docker-compose.override.yml mounts the host's / into app at /host: the container can read and change every file of this machine",
    )
  })
})
