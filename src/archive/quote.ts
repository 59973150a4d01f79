/** Small helpers shared by the archive modules' messages. */

export function errnoCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Quotes a name for a message, making control characters visible. */
export function quote(value: string): string {
  let visible = "";
  for (const char of value) {
    const code = char.charCodeAt(0);
    visible += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : char;
  }
  return `'${visible}'`;
}
