import { StringDecoder } from "node:string_decoder";

/**
 * Redaction of secret values in whatever output enters pyro from a sandbox (exec and
 * command output, streamed chunks, shell reads, service logs, error messages). Every value
 * is matched in its literal, base64 (standard and URL-safe, without padding) and
 * URL-encoded forms and replaced by `[REDACTED:NAME]`. See docs/secrets.md.
 *
 * Output that arrives in pieces (streamed chunks, cursor-paged reads) is redacted by a
 * stream that holds back the shortest tail that could still become a match (at most the
 * longest form's length minus one character), so a value split across chunks is caught.
 */

export interface SecretValue {
  name: string;
  value: string;
}

interface Form {
  text: string;
  name: string;
  /** A longer form starts with this one: a match may only be final once that is decidable. */
  extendable: boolean;
}

function redactionMarker(name: string): string {
  return `[REDACTED:${name}]`;
}

function formsOf(secret: SecretValue): string[] {
  const bytes = Buffer.from(secret.value, "utf8");
  const base64 = bytes.toString("base64");
  // With and without padding: a value inside a longer encoded text ends unpadded.
  return [
    secret.value,
    base64,
    base64.replace(/=+$/, ""),
    bytes.toString("base64url"),
    encodeURIComponent(secret.value),
  ];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A text cut at `start` (where it may begin mid-value) and redacted, for paged reads. */
interface WindowRedaction {
  /** The redacted text from `from` on. */
  text: string;
  /** Offset into the input after which the caller should read again (the held-back tail). */
  consumed: number;
}

export class Redactor {
  private readonly forms: Form[];
  private readonly byText = new Map<string, string>();
  private readonly pattern: RegExp;
  /** The first characters of the forms: only there can a held-back tail begin. */
  private readonly firstChars: Set<string>;
  /** The longest form, in UTF-16 code units. */
  readonly maxLength: number;

  constructor(secrets: readonly SecretValue[]) {
    const seen = new Set<string>();
    const forms: Form[] = [];
    for (const secret of secrets) {
      for (const text of formsOf(secret)) {
        if (text.length === 0 || seen.has(text)) continue;
        seen.add(text);
        this.byText.set(text, secret.name);
        forms.push({ text, name: secret.name, extendable: false });
      }
    }
    // Longest first: the regex alternation then prefers the longest form at a position.
    forms.sort((a, b) => b.text.length - a.text.length);
    for (const form of forms) {
      form.extendable = forms.some(
        (other) => other.text.length > form.text.length && other.text.startsWith(form.text),
      );
    }
    this.forms = forms;
    this.maxLength = forms.reduce((max, form) => Math.max(max, form.text.length), 0);
    this.firstChars = new Set(forms.map((form) => form.text[0] ?? ""));
    this.pattern = new RegExp(forms.map((form) => escapeRegExp(form.text)).join("|"), "g");
  }

  /** Every form of every value in a whole text replaced. */
  redact(text: string): string {
    if (this.forms.length === 0 || text.length === 0) return text;
    return text.replace(this.pattern, (match) => redactionMarker(this.byText.get(match) ?? ""));
  }

  /**
   * Redacts `text[from..]` where `text` may continue later (unless `final`) and may have
   * started before offset 0 (`cutHead`: its first characters could be the end of a value).
   * A value straddling `from` is replaced whole; the tail that could still grow into a
   * value is held back (not in `text`, `consumed` stops before it).
   */
  redactWindow(
    text: string,
    options: { from?: number; final: boolean; cutHead?: boolean | "line" },
  ): WindowRedaction {
    const from = options.from ?? 0;
    if (this.forms.length === 0) return { text: text.slice(from), consumed: text.length };
    let out = "";
    let position = from;
    let holdAt = text.length;
    if (options.cutHead) {
      // The text begins after output that is gone: a value's end there is still a value.
      const head = this.partialHead(text, options.cutHead === "line");
      if (head !== null && head.length > position) {
        out += redactionMarker(head.name);
        position = head.length;
      }
    }
    this.pattern.lastIndex = 0;
    for (let match = this.pattern.exec(text); match; match = this.pattern.exec(text)) {
      const start = match.index;
      const end = start + match[0].length;
      if (end <= position) continue;
      const form = this.byText.get(match[0]) ?? "";
      const extendable = this.forms.find((each) => each.text === match[0])?.extendable ?? false;
      if (!options.final && extendable && start + this.maxLength > text.length) {
        holdAt = start;
        break;
      }
      if (start > position) out += text.slice(position, start);
      out += redactionMarker(form);
      position = end;
    }
    if (!options.final) holdAt = Math.min(holdAt, this.partialTailStart(text, position));
    if (holdAt > position) out += text.slice(position, holdAt);
    else holdAt = Math.max(holdAt, position);
    return { text: out, consumed: holdAt };
  }

  /** Where the shortest tail of `text` (from `from` on) that begins some form starts. */
  private partialTailStart(text: string, from: number): number {
    const earliest = Math.max(from, text.length - this.maxLength + 1);
    for (let start = earliest; start < text.length; start += 1) {
      if (!this.firstChars.has(text[start] ?? "")) continue;
      const tail = text.slice(start);
      if (this.forms.some((form) => form.text.length > tail.length && form.text.startsWith(tail)))
        return start;
    }
    return text.length;
  }

  /**
   * The longest end of a form that `text` begins with (a value cut by a dropped head). With
   * `atLine` the head was dropped whole lines at a time: only an end that follows a newline
   * inside the value can be there.
   */
  private partialHead(text: string, atLine: boolean): { name: string; length: number } | null {
    let best: { name: string; length: number } | null = null;
    for (const form of this.forms) {
      for (let length = Math.min(form.text.length - 1, text.length); length > 0; length -= 1) {
        if (best && length <= best.length) break;
        if (atLine && form.text[form.text.length - length - 1] !== "\n") continue;
        if (text.startsWith(form.text.slice(form.text.length - length))) {
          best = { name: form.name, length };
          break;
        }
      }
    }
    return best;
  }

  /**
   * A snapshot of output that may have lost its head (`headCut`: a read buffer dropped it)
   * or may go on, or was cut, after its end (`tailOpen`). A value cut by either edge is
   * redacted (head) or dropped (tail), never shown in part. The agent's truncation note
   * (`\n[pyro: stdout truncated, ...]\n`) stays after the cut.
   */
  redactSnapshot(
    text: string,
    options: { headCut?: boolean | "line"; tailOpen?: boolean },
  ): string {
    if (this.forms.length === 0) return text;
    const note = /\n\[pyro: [a-z]+ truncated, \d+ bytes dropped after \d+ bytes\]\n$/.exec(text);
    const body = note ? text.slice(0, note.index) : text;
    const result = this.redactWindow(body, {
      final: !(options.tailOpen || note),
      cutHead: options.headCut ?? false,
    });
    return result.text + (note ? note[0] : "");
  }

  /** Every string in a JSON-like value redacted (error details). */
  redactDeep(value: unknown): unknown {
    if (typeof value === "string") return this.redact(value);
    if (Array.isArray(value)) return value.map((item) => this.redactDeep(item));
    if (typeof value === "object" && value !== null) {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, this.redactDeep(item)]),
      );
    }
    return value;
  }

  /** A redacting stream of bytes (one per output stream): decodes UTF-8, holds a tail. */
  byteStream(): RedactingStream {
    return new RedactingStream(this);
  }
}

/** Redacts one byte stream chunk by chunk; `end()` releases what it held back. */
class RedactingStream {
  private readonly decoder = new StringDecoder("utf8");
  private held = "";

  constructor(private readonly redactor: Redactor) {}

  write(chunk: Buffer): Buffer {
    return this.take(this.held + this.decoder.write(chunk), false);
  }

  end(): Buffer {
    return this.take(this.held + this.decoder.end(), true);
  }

  private take(text: string, final: boolean): Buffer {
    const result = this.redactor.redactWindow(text, { final });
    this.held = text.slice(result.consumed);
    return Buffer.from(result.text, "utf8");
  }
}
