import {type Clock, systemClock} from './clock.js'

/**
 * A moment several waits share: `up` gives the whole stack --timeout seconds, however they are split between
 * its waits. A wait handed a deadline gives up there, whenever it began.
 */
export class Deadline {
  constructor(
    /** Milliseconds since the epoch (on `clock`); Infinity for a wait without a time limit. */
    readonly atMs: number,
    readonly clock: Clock = systemClock,
  ) {}

  static after(ms: number, clock: Clock = systemClock): Deadline {
    return new Deadline(clock.now() + ms, clock)
  }

  remainingMs(): number {
    return Math.max(0, this.atMs - this.clock.now())
  }

  expired(): boolean {
    return this.clock.now() >= this.atMs
  }
}
