import {expect} from 'chai'

import {
  cutScript,
  healScript,
  PARTITION_CHAIN,
  PARTITION_PROBE,
  partitionedPeers,
} from '../../../../src/lib/targets/swarm/partition.js'

describe('partition of a local swarm node (iptables in the node container, pure scripts)', () => {
  it('drops traffic to and from each peer in its own chain, jumped to from INPUT, OUTPUT and FORWARD', () => {
    const script = cutScript(['172.20.0.11', '172.20.0.13'])
    const lines = script.split('\n')
    expect(lines).to.include(`iptables -w -A ${PARTITION_CHAIN} -s 172.20.0.11 -j DROP`)
    expect(lines).to.include(`iptables -w -A ${PARTITION_CHAIN} -d 172.20.0.11 -j DROP`)
    expect(lines).to.include(`iptables -w -A ${PARTITION_CHAIN} -s 172.20.0.13 -j DROP`)
    expect(lines).to.include(`iptables -w -A ${PARTITION_CHAIN} -d 172.20.0.13 -j DROP`)
    for (const hook of ['INPUT', 'OUTPUT', 'FORWARD']) {
      // Idempotent: the jump is inserted only when it is not there yet.
      expect(lines).to.include(
        `iptables -w -C ${hook} -j ${PARTITION_CHAIN} 2>/dev/null || iptables -w -I ${hook} 1 -j ${PARTITION_CHAIN}`,
      )
    }
    // A second cut replaces the chain's rules (flush), never adds a second set.
    expect(lines[1]).to.equal(`iptables -w -N ${PARTITION_CHAIN} 2>/dev/null || iptables -w -F ${PARTITION_CHAIN}`)
    expect(lines[0]).to.equal('set -e')
  })

  it('refuses anything but IPv4 addresses (nothing else reaches the shell) and an empty peer list', () => {
    expect(() => cutScript(['172.20.0.11; reboot'])).to.throw(/not an IPv4 address/)
    expect(() => cutScript(['node2'])).to.throw(/not an IPv4 address/)
    expect(() => cutScript([])).to.throw(/at least one peer/)
  })

  it('heals by removing every jump and the chain, and fails when the chain is still there', () => {
    const lines = healScript().split('\n')
    for (const hook of ['INPUT', 'OUTPUT', 'FORWARD']) {
      expect(lines).to.include(`while iptables -w -D ${hook} -j ${PARTITION_CHAIN} 2>/dev/null; do :; done`)
    }
    expect(lines.at(-1)).to.equal(`! iptables -w -S ${PARTITION_CHAIN} >/dev/null 2>&1`)
  })

  it('reads the peers a node is cut from out of the probe (iptables -S), none without the chain', () => {
    expect(PARTITION_PROBE).to.equal(`iptables -w -S ${PARTITION_CHAIN} 2>/dev/null || :`)
    const probe = [
      `-N ${PARTITION_CHAIN}`,
      `-A ${PARTITION_CHAIN} -s 172.20.0.11/32 -j DROP`,
      `-A ${PARTITION_CHAIN} -d 172.20.0.11/32 -j DROP`,
      `-A ${PARTITION_CHAIN} -s 172.20.0.13/32 -j DROP`,
      `-A ${PARTITION_CHAIN} -d 172.20.0.13/32 -j DROP`,
      '',
    ].join('\n')
    expect(partitionedPeers(probe)).to.deep.equal(['172.20.0.11', '172.20.0.13'])
    expect(partitionedPeers('')).to.deep.equal([])
    expect(partitionedPeers('-P INPUT ACCEPT\n-A INPUT -s 172.20.0.11/32 -j DROP\n')).to.deep.equal([])
  })
})
