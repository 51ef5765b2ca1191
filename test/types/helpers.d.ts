// Global helpers for the type tests (a script file, so every test file sees them without imports).

/** true when A and B are the same type (not merely mutually assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;

/** Compiles only when `value` is assignable to T. */
declare function expectType<T>(value: T): void;
