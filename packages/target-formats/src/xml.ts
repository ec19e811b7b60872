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

function escapeAttribute(value: string): string {
  return escapeText(value).replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

function serialiseNode(node: XmlNode, indent: string, lines: string[]): void {
  if ("text" in node) {
    lines.push(indent + escapeText(node.text));
    return;
  }
  if ("comment" in node) {
    // "--" is not allowed inside an XML comment.
    lines.push(`${indent}<!-- ${node.comment.replace(/--/g, "- -")} -->`);
    return;
  }
  const attributes = node.attributes
    .map(([key, value]) => ` ${key}='${escapeAttribute(value)}'`)
    .join("");
  if (node.children.length === 0) {
    lines.push(`${indent}<${node.name}${attributes}/>`);
  } else if (node.children.length === 1 && "text" in node.children[0]!) {
    lines.push(
      `${indent}<${node.name}${attributes}>${escapeText(node.children[0].text)}</${node.name}>`,
    );
  } else {
    lines.push(`${indent}<${node.name}${attributes}>`);
    for (const child of node.children) serialiseNode(child, indent + "  ", lines);
    lines.push(`${indent}</${node.name}>`);
  }
}

export function serialiseDocument(root: XmlElement): string {
  const lines = ["<?xml version='1.0' encoding='utf-8'?>"];
  serialiseNode(root, "", lines);
  return lines.join("\n") + "\n";
}
