import {expect} from 'chai'

import {debootstrapProgress} from '../../../../src/lib/engine/images/debootstrap-progress.js'

function condense(lines: string[], every = 2): string[] {
  const out: string[] = []
  const feed = debootstrapProgress((line) => out.push(line), every)
  for (const line of lines) feed(line)
  return out
}

describe('debootstrap progress', () => {
  it('reports the first package of each stage and then every n-th', () => {
    expect(
      condense([
        'I: Retrieving InRelease ',
        'I: Checking Release signature',
        'I: Retrieving adduser 3.152',
        'I: Validating adduser 3.152',
        'I: Retrieving apt 3.0.3',
        'I: Retrieving base-files 13.8',
        'I: Installing core packages...',
        'I: Unpacking required packages...',
        'I: Unpacking apt...',
        'I: Configuring libc-bin...',
        'I: Base system installed successfully.',
      ]),
    ).to.deep.equal([
      'retrieved 1 package (adduser)',
      'retrieved 2 packages (apt)',
      'Installing core packages',
      'unpacked 1 package (apt)',
      'configured 1 package (libc-bin)',
      'Base system installed successfully',
    ])
  })

  it('passes warnings and errors through as they are', () => {
    expect(condense(['W: Failure trying to run: chroot x', "E: Couldn't find these debs: nope"])).to.deep.equal([
      'W: Failure trying to run: chroot x',
      "E: Couldn't find these debs: nope",
    ])
  })

  it('drops everything else', () => {
    expect(condense(['I: Validating bash 5.2', 'I: Chosen extractor for .deb packages: dpkg-deb', ''])).to.deep.equal(
      [],
    )
  })
})
