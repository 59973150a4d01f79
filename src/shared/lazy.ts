/**
 * Values built on first use. Building zod schemas was a large part of a CLI call's
 * start-up (about 1,500 of them, zod creating closures for each), and a call uses a few:
 * so the catalogue's schemas (src/operations/define.ts), the agent protocol's (per
 * operation, src/protocol/operations.ts) and the qemu backend's and environment cache's
 * file schemas are built when first used, then kept. See docs/cli.md, "Start-up time".
 */

/** `build()` on the first call, the same value on every later one. */
export function lazy<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}

/** An object whose every property is built on first access, then kept (e.g. `fields`). */
export function lazyProperties<Builders extends Record<string, () => unknown>>(
  builders: Builders,
): { readonly [Key in keyof Builders]: ReturnType<Builders[Key]> } {
  const object = {};
  for (const [key, build] of Object.entries(builders)) {
    const get = lazy(build);
    Object.defineProperty(object, key, { get, enumerable: true });
  }
  return object as { readonly [Key in keyof Builders]: ReturnType<Builders[Key]> };
}
