import type { Redactor } from "../shared/redact.js";

/**
 * Redaction of cursor-paged output (shell_read, command_read): a page may begin or end
 * inside a secret value. The page is redacted together with up to maxLength-1 characters
 * before the requested cursor (read again from the agent's buffer), so a value that began
 * on an earlier page is still recognised; a tail that may be the start of a value is held
 * back (next_cursor stops before it) until a later page, or the end, decides it.
 */

/** One stream's slice of output as the agent's buffers answer it. */
interface Page {
  output: string;
  /** Where `output` starts (later than asked for when the buffer dropped that output). */
  cursor: number;
  next_cursor: number;
}

interface RedactedPage {
  output: string;
  cursor: number;
  next_cursor: number;
  dropped_chars: number;
}

/** How many characters before a cursor to read again, and from where. */
export function lookBehindStart(redactor: Redactor, cursor: number): number {
  return Math.max(0, cursor - (redactor.maxLength - 1));
}

/**
 * Redacts `page` (read at `requested`) given `before`, the output just before it (read from
 * lookBehindStart; null when there is none to read). `final`: the stream has ended and the
 * page reaches its end, so nothing is held back.
 */
export function redactPage(
  redactor: Redactor,
  requested: number,
  page: Page,
  before: Page | null,
  final: boolean,
): RedactedPage {
  let prefix = "";
  let cutHead = page.cursor > requested;
  if (!cutHead && before && page.cursor === requested && before.cursor <= requested) {
    prefix = before.output.slice(0, requested - before.cursor);
    // The look-behind itself found its start dropped: what preceded it is unknown.
    cutHead = before.cursor > lookBehindStart(redactor, requested);
  }
  const text = prefix + page.output;
  const result = redactor.redactWindow(text, { from: prefix.length, final, cutHead });
  return {
    output: result.text,
    cursor: page.cursor,
    next_cursor: page.cursor + Math.max(0, result.consumed - prefix.length),
    dropped_chars: Math.max(0, page.cursor - requested),
  };
}
