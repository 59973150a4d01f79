/**
 * Detach keys of an attached terminal, in Docker's notation: a comma-separated sequence of
 * keys, each `ctrl-<c>` (c one of a-z @ [ \ ] ^ _) or one printable character, e.g. the
 * default `ctrl-p,ctrl-q`. An empty string turns detaching off (as podman's does).
 */
import { ValidationError } from "../errors.js";

export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

/** Control characters `ctrl-<c>` may name besides the letters (their codes are 0 and 27-31). */
const CONTROL_PUNCTUATION = "@[\\]^_";

/**
 * The bytes a detach-key spec stands for; null when detaching is off. Refuses anything else
 * with a message naming the flag, the rule and the key it could not read.
 */
export function parseDetachKeys(spec: string, field = "--detach-keys"): Uint8Array | null {
  if (spec === "") return null;
  const bytes = spec.split(",").map((key) => keyByte(key, spec, field));
  return Uint8Array.from(bytes);
}

function keyByte(key: string, spec: string, field: string): number {
  const rule = `each key of ${field} must be ctrl-<letter or one of ${CONTROL_PUNCTUATION}> or one printable character, comma-separated (e.g. ${DEFAULT_DETACH_KEYS})`;
  const lower = key.toLowerCase();
  if (lower.startsWith("ctrl-") && key.length === 6) {
    const name = lower.charAt(5);
    if (name >= "a" && name <= "z") return name.charCodeAt(0) - 96;
    if (name === "@") return 0;
    const index = CONTROL_PUNCTUATION.indexOf(name);
    if (index > 0) return 26 + index;
  } else if (key.length === 1 && key >= " " && key <= "~") {
    return key.charCodeAt(0);
  }
  throw new ValidationError(`${rule}; got '${key}' in '${spec}'`, {
    field,
    value: spec,
    key,
  });
}

/** How to tell a person the keys: "Ctrl-P Ctrl-Q". */
export function describeDetachKeys(keys: Uint8Array): string {
  return [...keys]
    .map((byte) =>
      byte < 32
        ? `Ctrl-${String.fromCharCode(byte === 0 ? 64 : byte + 64)}`
        : String.fromCharCode(byte),
    )
    .join(" ");
}

/**
 * Watches keyboard input for the detach sequence. Bytes that may start it are held back
 * until the next key shows whether they do (as Docker does); when they do not, they go
 * to the terminal after all, in order, so no keystroke is lost or reordered.
 */
export class DetachKeyMatcher {
  /** How many bytes of the sequence the input has matched so far (and holds back). */
  private matched = 0;

  constructor(private readonly keys: Uint8Array | null) {}

  /** What to forward of `chunk`, and whether the sequence is now complete. */
  feed(chunk: Uint8Array): { forward: Buffer; detach: boolean } {
    const keys = this.keys;
    if (!keys) return { forward: Buffer.from(chunk), detach: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === keys[this.matched]) {
        this.matched += 1;
        if (this.matched === keys.length) {
          this.matched = 0;
          return { forward: Buffer.from(out), detach: true };
        }
        continue;
      }
      // Not the next key: release what was held, then look at this byte afresh (it cannot
      // complete a one-key sequence here, which the branch above would have matched).
      out.push(...keys.subarray(0, this.matched));
      this.matched = byte === keys[0] ? 1 : 0;
      if (this.matched === 0) out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}
