/**
 * A minimal XML element tree and serialiser: enough to write libvirt domain XML with correct
 * escaping and the two-space indentation virt-v2v's output has.
 */
export interface XmlElement {
  name: string;
  attributes: ReadonlyArray<readonly [string, string]>;
  children: ReadonlyArray<XmlNode>;
}
export type XmlNode = XmlElement | { text: string } | { comment: string };

export function element(
  name: string,
  attributes: ReadonlyArray<readonly [string, string]> = [],
  children: ReadonlyArray<XmlNode> = [],
): XmlElement {
  return { name, attributes, children };
}

export function text(value: string): XmlNode {
  return { text: value };
}

export function comment(value: string): XmlNode {
  return { comment: value };
}

function escapeText(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * How characters are escaped. "default": attribute values escape both quote characters, and a
 * comment only loses "--" (not allowed inside one). "virt-v2v": exactly as virt-v2v's DOM
 * module writes them, for documents that must match its output byte for byte (the OVF): an
 * attribute value escapes & ' < > but leaves " alone (legal inside single quotes), and a
 * comment is escaped like element text.
 */
export type XmlEscaping = "default" | "virt-v2v";

export interface SerialiseOptions {
  escaping?: XmlEscaping;
}

function escapeAttribute(value: string, escaping: XmlEscaping): string {
  const escaped = escapeText(value).replace(/'/g, "&apos;");
  return escaping === "virt-v2v" ? escaped : escaped.replace(/"/g, "&quot;");
}

function escapeComment(value: string, escaping: XmlEscaping): string {
  // "--" is not allowed inside an XML comment.
  return escaping === "virt-v2v" ? escapeText(value) : value.replace(/--/g, "- -");
}

function serialiseNode(
  node: XmlNode,
  indent: string,
  lines: string[],
  escaping: XmlEscaping,
): void {
  if ("text" in node) {
    lines.push(indent + escapeText(node.text));
    return;
  }
  if ("comment" in node) {
    lines.push(`${indent}<!-- ${escapeComment(node.comment, escaping)} -->`);
    return;
  }
  const attributes = node.attributes
    .map(([key, value]) => ` ${key}='${escapeAttribute(value, escaping)}'`)
    .join("");
  if (node.children.length === 0) {
    lines.push(`${indent}<${node.name}${attributes}/>`);
  } else if (node.children.length === 1 && "text" in node.children[0]!) {
    lines.push(
      `${indent}<${node.name}${attributes}>${escapeText(node.children[0].text)}</${node.name}>`,
    );
  } else {
    lines.push(`${indent}<${node.name}${attributes}>`);
    for (const child of node.children) serialiseNode(child, indent + "  ", lines, escaping);
    lines.push(`${indent}</${node.name}>`);
  }
}

export function serialiseDocument(root: XmlElement, options: SerialiseOptions = {}): string {
  const lines = ["<?xml version='1.0' encoding='utf-8'?>"];
  serialiseNode(root, "", lines, options.escaping ?? "default");
  return lines.join("\n") + "\n";
}
