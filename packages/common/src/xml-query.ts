/**
 * XPath questions to an XML document, answered by libxml2's own `xmllint` (no XML parser of ours,
 * no npm dependency).
 *
 * `xmllint --xpath` evaluates one expression per run, so several questions are asked at once in a
 * single `concat()` whose parts are length-prefixed: for each question Q it yields
 * `count(Q) ":" string-length(Q) ":" string(Q)`, which splits back unambiguously whatever the
 * values contain. `count` tells "absent" from "present but empty", as virt-v2v's `xpath_string`
 * (None vs Some "") does.
 *
 * Namespaces: `xmllint --xpath` cannot register prefixes, so expressions name elements and
 * attributes with `local-name()` (see `el` and `attr`), and with `namespace-uri()` where the
 * namespace matters (`elIn`).
 *
 * One reader for every XML document split-v2v reads: OVF descriptors (-i ova), libvirt domain and
 * volume XML (-i libvirt, -i libvirtxml).
 */
import { execa } from "execa";
import { UserError } from "./errors.js";

/** What one XPath question found: how many nodes, and the string value of the first. */
export interface XPathAnswer {
  count: number;
  text: string;
}

/** A step selecting child elements with this local name, whatever their namespace prefix. */
export function el(localName: string): string {
  return `*[local-name()='${localName}']`;
}

/**
 * A step selecting child elements with this local name in this namespace, whatever prefix the
 * document binds it to (`<vmware:moref>` with xmlns:vmware='http://libvirt.org/schemas/domain/vmware/1.0').
 */
export function elIn(namespaceUri: string, localName: string): string {
  return `*[local-name()='${localName}' and namespace-uri()='${namespaceUri}']`;
}

/** A step selecting the attribute with this local name (ovf:href, vmw:key, …). */
export function attr(localName: string): string {
  return `@*[local-name()='${localName}']`;
}

/** Longest XPath expression given to one xmllint run (one argv string is limited to 128 KiB). */
const MAX_EXPRESSION_LENGTH = 64 * 1024;

/** Code points, not UTF-16 units: XPath's string-length counts characters. */
function takeCodePoints(text: string, from: number, count: number): [string, number] {
  let end = from;
  for (let taken = 0; taken < count; taken++) {
    if (end >= text.length) throw new Error("xmllint answer is shorter than announced");
    const code = text.codePointAt(end)!;
    end += code > 0xffff ? 2 : 1;
  }
  return [text.slice(from, end), end];
}

function readNumber(text: string, from: number): [number, number] {
  const colon = text.indexOf(":", from);
  if (colon < 0) throw new Error(`unexpected xmllint answer: ${JSON.stringify(text)}`);
  const value = Number(text.slice(from, colon));
  if (!Number.isInteger(value))
    throw new Error(`unexpected xmllint answer: ${JSON.stringify(text)}`);
  return [value, colon + 1];
}

/** An XML document (its text), queried with xmllint. */
export class XmlDocument {
  private constructor(
    private readonly text: string,
    /** For messages: where the document came from. */
    readonly label: string,
  ) {}

  /**
   * Checks that `text` is well-formed XML. A syntax error is the user's: the message names the
   * document and quotes libxml2's diagnostic (line and what it expected).
   */
  static async parse(text: string, label: string): Promise<XmlDocument> {
    const result = await xmllint(["--noout", "-"], text);
    if (result.exitCode !== 0) {
      throw new UserError(`${label} is not well-formed XML: ${diagnostic(result.stderr, label)}`);
    }
    return new XmlDocument(text, label);
  }

  /** Asks every question of `queries` (absolute XPath expressions) in one xmllint run. */
  async ask<K extends string>(queries: Record<K, string>): Promise<Record<K, XPathAnswer>> {
    return this.evaluate(queries, "string");
  }

  /** The local name of the first node each query selects (the count says whether there is one). */
  async localNames<K extends string>(queries: Record<K, string>): Promise<Record<K, XPathAnswer>> {
    return this.evaluate(queries, "local-name");
  }

  private async evaluate<K extends string>(
    queries: Record<K, string>,
    value: "string" | "local-name",
  ): Promise<Record<K, XPathAnswer>> {
    // One xmllint run per batch of questions; a batch stays well under Linux's limit on the
    // length of one argument (128 KiB).
    const batches: Array<Array<{ key: K; parts: string[] }>> = [[]];
    let batchLength = 0;
    for (const key of Object.keys(queries) as K[]) {
      const query = queries[key];
      const text = `${value}(${query})`;
      const parts = [`count(${query})`, "':'", `string-length(${text})`, "':'", text];
      const length = parts.join(", ").length + 2;
      if (batchLength + length > MAX_EXPRESSION_LENGTH && batches.at(-1)!.length > 0) {
        batches.push([]);
        batchLength = 0;
      }
      batches.at(-1)!.push({ key, parts });
      batchLength += length;
    }
    const answers = {} as Record<K, XPathAnswer>;
    for (const batch of batches) {
      if (batch.length > 0) Object.assign(answers, await this.evaluateBatch(batch));
    }
    return answers;
  }

  private async evaluateBatch<K extends string>(
    batch: Array<{ key: K; parts: string[] }>,
  ): Promise<Record<K, XPathAnswer>> {
    const parts = batch.flatMap((question) => question.parts);
    const result = await xmllint(["--xpath", `concat(${parts.join(", ")})`, "-"], this.text);
    if (result.exitCode !== 0) {
      throw new Error(
        `xmllint could not evaluate a query on ${this.label}: ${diagnostic(result.stderr, this.label)}`,
      );
    }
    // xmllint ends a string result with one newline.
    const answer = result.stdout.endsWith("\n") ? result.stdout.slice(0, -1) : result.stdout;
    const answers = {} as Record<K, XPathAnswer>;
    let position = 0;
    for (const { key } of batch) {
      const [count, afterCount] = readNumber(answer, position);
      const [length, afterLength] = readNumber(answer, afterCount);
      const [text, afterText] = takeCodePoints(answer, afterLength, length);
      answers[key] = { count, text };
      position = afterText;
    }
    if (position !== answer.length) {
      throw new Error(`unexpected trailing text in xmllint answer for ${this.label}`);
    }
    return answers;
  }

  /**
   * Asks the same questions of each node a list selects, in document order: `questions` gets an
   * expression selecting the one node (`(LIST)[3]`) and returns the questions about it, absolute
   * expressions built on it (relative steps, unions: `${node}/source/@network | ${node}/source/@bridge`).
   * Two xmllint runs (the count, then every question), whatever the number of nodes.
   */
  async askEach<K extends string>(
    list: string,
    questions: (node: string) => Record<K, string>,
  ): Promise<Array<Record<K, XPathAnswer>>> {
    const count = await this.count(list);
    const queries: Record<string, string> = {};
    const keysOf: K[][] = [];
    for (let position = 1; position <= count; position++) {
      const asked = questions(`(${list})[${position}]`);
      const keys = Object.keys(asked) as K[];
      keysOf.push(keys);
      for (const key of keys) queries[`${position}:${key}`] = asked[key];
    }
    const answers = await this.ask(queries);
    return keysOf.map((keys, index) => {
      const record = {} as Record<K, XPathAnswer>;
      for (const key of keys) record[key] = answers[`${index + 1}:${key}`]!;
      return record;
    });
  }

  /** The local names of every node a list selects, in document order. */
  async localNamesOfEach(list: string): Promise<string[]> {
    const count = await this.count(list);
    const queries: Record<string, string> = {};
    for (let position = 1; position <= count; position++) {
      queries[String(position)] = `(${list})[${position}]`;
    }
    const answers = await this.localNames(queries);
    return Array.from({ length: count }, (_, index) => answers[String(index + 1)]!.text);
  }

  /**
   * The nodes an expression selects, serialised as XML by libxml2 (one string per node): a
   * fragment to read as a document of its own, such as one `<domain>` of a libvirt test
   * driver's `<node>` file.
   */
  async serialize(query: string): Promise<string[]> {
    const count = await this.count(query);
    const fragments: string[] = [];
    for (let position = 1; position <= count; position++) {
      const result = await xmllint(["--xpath", `(${query})[${position}]`, "-"], this.text);
      if (result.exitCode !== 0) {
        throw new Error(
          `xmllint could not evaluate a query on ${this.label}: ${diagnostic(result.stderr, this.label)}`,
        );
      }
      fragments.push(result.stdout.endsWith("\n") ? result.stdout.slice(0, -1) : result.stdout);
    }
    return fragments;
  }

  /** How many nodes an expression selects. */
  async count(query: string): Promise<number> {
    return (await this.ask({ query })).query.count;
  }
}

interface XmllintResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function xmllint(args: string[], input: string): Promise<XmllintResult> {
  // --nonet: an OVF or a domain XML is untrusted; never fetch a DTD or entity from the network. (xmllint does not
  // load external entities unless asked to, so none is read from the host either.)
  const result = await execa("xmllint", ["--nonet", ...args], {
    input,
    reject: false,
    stripFinalNewline: false,
    env: { LANG: "C" },
  });
  return {
    exitCode: result.exitCode ?? 1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  };
}

/** libxml2's first diagnostic line, with "-" (stdin) replaced by the document's name. */
function diagnostic(stderr: string, label: string): string {
  const first = stderr.split("\n").find((line) => line.trim() !== "") ?? "unknown error";
  return (
    first
      .replace(/^-:(\d+):/, `line $1:`)
      .replace(/\s+/g, " ")
      .trim() || label
  );
}
