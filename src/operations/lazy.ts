/**
 * Building the catalogue's zod schemas is most of what loading the catalogue costs (zod
 * creates dozens of closures per schema), and a CLI call uses one or two operations'
 * schemas of fifty. So every schema of the catalogue is built on first use and kept: an
 * operation's input and output (defineOperation), and the schemas several share (below).
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
