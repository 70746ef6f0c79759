import {expect} from 'chai'

import type {StackContext} from '../../../src/lib/stack/context.js'
import {checkPasswordAgainstServer, passwordFromFile, passwordMatchesVerifier} from '../../../src/lib/stack/password.js'

// Written by PostgreSQL 17 itself (CREATE ROLE … PASSWORD 'correct horse battery staple'; SELECT rolpassword).
const SCRAM =
  'SCRAM-SHA-256$4096:PsMCCHXRji6zqZ3A4N8NmA==$a1QKOY513P3KELoak1NtgmD3/IM4Z5542+Ccnihj5qQ=:aBPaS8aTye40pRFzfCSPxXSLc1IeIB0OLEmfmak36pc='
// With password_encryption = md5, for role fixture_md5 and password 'pw-md5'.
const MD5 = 'md520ed2299f739abacaf1d25a5b05a7871'

describe('password check against the server’s verifier', () => {
  it('accepts the password a SCRAM verifier was made from', () => {
    expect(passwordMatchesVerifier(SCRAM, 'anyone', 'correct horse battery staple')).to.equal(true)
  })

  it('rejects any other password (negative control)', () => {
    expect(passwordMatchesVerifier(SCRAM, 'anyone', 'correct horse battery stapler')).to.equal(false)
    expect(passwordMatchesVerifier(SCRAM, 'anyone', '')).to.equal(false)
  })

  it('checks the older md5 form, which mixes in the role name', () => {
    expect(passwordMatchesVerifier(MD5, 'fixture_md5', 'pw-md5')).to.equal(true)
    expect(passwordMatchesVerifier(MD5, 'postgres', 'pw-md5')).to.equal(false)
    expect(passwordMatchesVerifier(MD5, 'fixture_md5', 'pw-md6')).to.equal(false)
  })

  it('answers undefined for anything that is not a verifier it knows', () => {
    expect(passwordMatchesVerifier('', 'postgres', 'x')).to.equal(undefined)
    expect(passwordMatchesVerifier('SCRAM-SHA-256$garbage', 'postgres', 'x')).to.equal(undefined)
  })

  it('reads the file as the entrypoints do: trailing newlines dropped, nothing else', () => {
    expect(passwordFromFile('secret\n\n')).to.equal('secret')
    expect(passwordFromFile(' secret ')).to.equal(' secret ')
  })

  it('judges a verifier the caller read ahead (up reads it while it renders) as it judges its own', async () => {
    const ctx = {} as StackContext // never asked: the verifier is given
    const given = (verifier: string | undefined) => Promise.resolve(verifier)
    expect(await checkPasswordAgainstServer(ctx, 'correct horse battery staple\n', given(SCRAM))).to.equal('match')
    expect(await checkPasswordAgainstServer(ctx, 'another one\n', given(SCRAM))).to.equal('mismatch')
    expect(await checkPasswordAgainstServer(ctx, 'x', given(undefined))).to.equal('unknown')
  })
})
