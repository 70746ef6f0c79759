/** `stackctl open`: which opener starts a browser, and which paths are paths on the API. */
import {expect} from 'chai'

import {UsageError} from '../../../../src/lib/errors.js'
import {browserOpener, urlWithPath} from '../../../../src/lib/targets/compose/open.js'

describe('open', () => {
  const url = 'http://127.0.0.1:5000'

  it('prefers $BROWSER, then the platform’s opener', () => {
    expect(browserOpener(url, 'linux', {BROWSER: 'firefox', DISPLAY: ':0'})).to.deep.equal({
      command: 'firefox',
      args: [url],
    })
    expect(browserOpener(url, 'darwin', {})).to.deep.equal({command: 'open', args: [url]})
    expect(browserOpener(url, 'linux', {WAYLAND_DISPLAY: 'wayland-0'})).to.deep.equal({
      command: 'xdg-open',
      args: [url],
    })
  })

  it('starts nothing on Linux without a display (SSH, CI), saying why', () => {
    expect(browserOpener(url, 'linux', {})).to.deep.equal({
      none: 'no display here (DISPLAY and WAYLAND_DISPLAY are unset)',
    })
  })

  it('appends a path on the API, and refuses anything that is not one', () => {
    expect(urlWithPath(url, undefined)).to.equal(url)
    expect(urlWithPath(url, '/visits?limit=5')).to.equal(`${url}/visits?limit=5`)
    for (const bad of ['visits', '//evil.example/x', '/a b', 'http://x/', '/a\\b']) {
      expect(() => urlWithPath(url, bad), bad)
        .to.throw(UsageError, 'is not a path on the API')
        .with.property('exitCode', 2)
    }
  })
})
