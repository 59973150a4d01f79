/**
 * Re-quotes argv words for the guest's /bin/sh, so `pyro run debian:12 -- echo "a b"`
 * runs exactly `echo 'a b'`. A single word is passed through unquoted, so
 * `pyro run debian:12 -- "ls | wc -l"` keeps working as a shell snippet.
 */
export function shellQuote(words: string[]): string {
  if (words.length === 1) return words[0] ?? "";
  return words.map(quoteWord).join(" ");
}

function quoteWord(word: string): string {
  if (word !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
