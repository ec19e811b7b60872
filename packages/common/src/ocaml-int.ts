/** Numbers as virt-v2v's OCaml reads them. */

/**
 * OCaml's int_of_string / Int64.of_string, which virt-v2v uses on the numbers of
 * .vmx files and of XML documents (xpath_int, xpath_int64): an optional sign,
 * an optional 0x/0o/0b/0u prefix, digits with `_` allowed after the first, nothing else. Decimal
 * must fit the signed range; the other bases may use the full width and wrap (0xffff… is -1).
 */
export function parseOcamlInteger(text: string, bits: 63 | 64): bigint | null {
  const match = /^([+-]?)(0[xXoObBuU])?(.*)$/s.exec(text);
  if (!match) return null;
  const [, sign = "", prefix = "", digits = ""] = match;
  const base = { x: 16, o: 8, b: 2, u: 10, "": 10 }[prefix.slice(1).toLowerCase()] ?? 10;
  const signedDecimal = prefix === "";
  const digitClass = { 16: "[0-9a-fA-F]", 8: "[0-7]", 2: "[01]", 10: "[0-9]" }[base];
  if (!new RegExp(`^${digitClass}(?:${digitClass}|_)*$`).test(digits)) return null;
  const magnitude = BigInt(
    (base === 10 ? "" : prefix.slice(0, 2).toLowerCase()) + digits.replace(/_/g, ""),
  );
  const limit = 1n << BigInt(bits - 1);
  if (signedDecimal) {
    if (sign === "-" ? magnitude > limit : magnitude >= limit) return null;
  } else if (magnitude >= limit << 1n) {
    return null;
  }
  return BigInt.asIntN(bits, sign === "-" ? -magnitude : magnitude);
}
