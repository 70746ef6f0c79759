/** The error a promise rejects with, asserted to be of `type` (a promise that resolves fails the test). */
import {expect} from 'chai'

import {StackctlError} from '../../src/lib/errors.js'

export async function rejection<T extends Error = StackctlError>(
  work: Promise<unknown>,
  type: abstract new (...args: never[]) => T = StackctlError as unknown as abstract new (...args: never[]) => T,
): Promise<T> {
  const caught = await work.then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(caught).to.be.instanceOf(type)
  return caught as T
}
