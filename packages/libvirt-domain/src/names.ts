/**
 * Two small conventions virt-v2v relies on when it reads domain XML: drive names ("hdc" is the
 * third drive) and the quoting of a URL path.
 */

/**
 * libguestfs's drive_index: the letters of a drive name without its prefix, read as a
 * bijective base-26 number ("a" → 0, "c" → 2, "z" → 25, "aa" → 26). Null for anything that is
 * not one or more lower-case ASCII letters ("", "a1", "A"), where virt-v2v's drive_index
 * raises Invalid_argument.
 */
export function driveIndex(letters: string): number | null {
  if (!/^[a-z]+$/.test(letters)) return null;
  let index = 0;
  for (const letter of letters) index = index * 26 + (letter.charCodeAt(0) - 96);
  return Number.isSafeInteger(index) ? index - 1 : null;
}

/**
 * virt-v2v's uri_quote: every byte of the UTF-8 text except ASCII letters, digits, `/`, `.` and
 * `-` becomes `%xx` (lower-case hex). Narrower than encodeURI: `_`, `~`, `:` are quoted too.
 */
export function uriQuote(text: string): string {
  let quoted = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const char = String.fromCharCode(byte);
    quoted += /^[A-Za-z0-9/.-]$/.test(char) ? char : `%${byte.toString(16).padStart(2, "0")}`;
  }
  return quoted;
}
