/**
 * Terminal output as a model or a log reader wants it (shell_read `plain`): escape and
 * control sequences removed, and the line edits a terminal would show applied — a carriage
 * return moves back to the start of the line and later text overwrites it (progress bars),
 * a backspace moves back one column, and erase-in-line clears. Only one line is edited at a
 * time: cursor movement to other lines (full-screen programs) is dropped, not emulated.
 *
 * No dependency: strip-ansi only strips, it does not apply \r or \b.
 */

const ESC = 0x1b;
const BEL = 0x07;

/** Renders `raw` terminal output as plain text (see the module comment). */
export function plainText(raw: string): string {
  const lines: string[] = [];
  let line: string[] = [];
  let column = 0;
  const put = (char: string): void => {
    while (line.length < column) line.push(" ");
    line[column] = char;
    column += 1;
  };
  let index = 0;
  while (index < raw.length) {
    const code = raw.charCodeAt(index);
    if (code === ESC || code === 0x9b) {
      const sequence = escapeSequence(raw, index);
      if (sequence.final === "K") {
        // Erase in line: 0 (default) to the end, 1 to the cursor, 2 the whole line.
        if (sequence.param === 2) line = [];
        else if (sequence.param === 1) line = line.map((char, at) => (at <= column ? " " : char));
        else line = line.slice(0, column);
      } else if (sequence.final === "C") column += Math.max(1, sequence.param);
      else if (sequence.final === "D") column = Math.max(0, column - Math.max(1, sequence.param));
      else if (sequence.final === "G") column = Math.max(0, Math.max(1, sequence.param) - 1);
      index = sequence.end;
      continue;
    }
    index += 1;
    if (code === 0x0a) {
      lines.push(line.join("").trimEnd());
      line = [];
      column = 0;
    } else if (code === 0x0d) column = 0;
    else if (code === 0x08) column = Math.max(0, column - 1);
    else if (code === 0x09) put("\t");
    else if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) continue;
    else if (code >= 0xd800 && code < 0xdc00 && index < raw.length) {
      // A surrogate pair is one character on screen: keep it in one column.
      put(raw.slice(index - 1, index + 1));
      index += 1;
    } else put(String.fromCharCode(code));
  }
  const last = line.join("").trimEnd();
  return last === ""
    ? lines.join("\n") + (lines.length > 0 ? "\n" : "")
    : [...lines, last].join("\n");
}

interface EscapeSequence {
  /** Index after the sequence. */
  end: number;
  /** A CSI sequence's final character ("" for others). */
  final: string;
  /** Its first numeric parameter (0 when absent). */
  param: number;
}

/**
 * The escape sequence at `start` (ESC or the 8-bit CSI): CSI (ESC [ … final), OSC, DCS, SOS,
 * PM and APC strings (ended by BEL or ESC \), or ESC and one character. A sequence cut off at
 * the end of the text (the rest comes with the next read) is dropped whole.
 */
function escapeSequence(raw: string, start: number): EscapeSequence {
  let index = start + 1;
  const csi = raw.charCodeAt(start) === 0x9b || raw[index] === "[";
  if (csi) {
    if (raw.charCodeAt(start) === ESC) index += 1;
    const paramsStart = index;
    // Parameter bytes 0x30-0x3F, intermediate bytes 0x20-0x2F, then one final byte 0x40-0x7E.
    while (index < raw.length && raw.charCodeAt(index) >= 0x20 && raw.charCodeAt(index) < 0x40)
      index += 1;
    const params = raw.slice(paramsStart, index);
    if (index >= raw.length) return { end: raw.length, final: "", param: 0 };
    const final = raw[index] ?? "";
    const param = /^\d+/.exec(params)?.[0];
    return { end: index + 1, final, param: param === undefined ? 0 : Number(param) };
  }
  const kind = raw[index];
  if (kind === "]" || kind === "P" || kind === "X" || kind === "^" || kind === "_") {
    // A string sequence (window title, hyperlink, ...): up to BEL or ST (ESC \).
    for (index += 1; index < raw.length; index += 1) {
      if (raw.charCodeAt(index) === BEL) return { end: index + 1, final: "", param: 0 };
      if (raw.charCodeAt(index) === ESC && raw[index + 1] === "\\")
        return { end: index + 2, final: "", param: 0 };
    }
    return { end: raw.length, final: "", param: 0 };
  }
  // ESC ( B and friends take one more character (a character set designation).
  if (kind === "(" || kind === ")" || kind === "*" || kind === "+" || kind === "#")
    return { end: Math.min(raw.length, index + 2), final: "", param: 0 };
  return { end: Math.min(raw.length, index + 1), final: "", param: 0 };
}
