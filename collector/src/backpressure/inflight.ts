/**
 * The collector's budget of memory held by export requests in progress. A request
 * charges its body bytes (after decompression) as they are read; once normalized it
 * holds its batch instead (and BullMQ's serialized copy of it) until Redis has it, and
 * is charged for that; it gives everything back when it ends. So what all requests
 * hold together is bounded, whatever Redis does.
 */
export interface InflightBytes {
  readonly max: number;
  readonly used: number;
  /** Whether `bytes` more would fit right now (checks a declared Content-Length before reading). */
  fits(bytes: number): boolean;
  /** A per-request account: charge as bytes arrive, release once when the response ends. */
  open(): InflightAccount;
}

export interface InflightAccount {
  /**
   * Charges `bytes`; false (and nothing charged) when the budget cannot hold them. When
   * nothing else is charged, a request may take more than the whole budget (a batch of
   * the largest body can outgrow it): alone, it bounds memory just the same, and a
   * request that could never fit would otherwise be refused forever.
   */
  charge(bytes: number): boolean;
  /** Replaces what this account holds with `bytes`; false (holding nothing) when they do not fit. */
  recharge(bytes: number): boolean;
  /** Gives back everything charged; safe to call more than once. */
  release(): void;
}

export function createInflightBytes(max: number): InflightBytes {
  let used = 0;
  return {
    max,
    get used() {
      return used;
    },
    fits: (bytes) => used + bytes <= max,
    open() {
      let held = 0;
      return {
        charge(bytes) {
          if (used + bytes > max && used > 0) return false;
          used += bytes;
          held += bytes;
          return true;
        },
        recharge(bytes) {
          used -= held;
          held = 0;
          return this.charge(bytes);
        },
        release() {
          used -= held;
          held = 0;
        },
      };
    },
  };
}
