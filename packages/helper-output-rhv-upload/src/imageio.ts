/**
 * The imageio side of an upload: what the server can do (OPTIONS), and the nbdkit server that
 * turns NBD writes into imageio requests (share/imageio-writer.sh, an nbdkit sh plugin calling
 * curl). nbdkit's curl plugin cannot serve here: it asks the size with a HEAD imageio does not
 * answer, and it has no zero or flush.
 */
import { writeFile } from "node:fs/promises";
import https from "node:https";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UserError, type NbdkitSpec } from "@split-v2v/common";

/** The shipped sh plugin. */
export const IMAGEIO_WRITER_SCRIPT = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "share",
  "imageio-writer.sh",
);

/** 2.2's plugin opens at most this many HTTP connections to imageio (MAX_CONNECTIONS). */
export const MAX_CONNECTIONS = 4;

export interface ImageioFeatures {
  canZero: boolean;
  canFlush: boolean;
  maxWriters: number;
}

export interface ImageioTls {
  ca: Buffer | null;
  cafile: string | null;
  insecure: boolean;
}

/** A transfer URL with its ticket hidden, for logs. */
export function redactTicket(url: string): string {
  return url.replace(/\/images\/[^/?#]+/, "/images/<ticket>");
}

/**
 * OPTIONS on the transfer URL (2.2's get_options): the features and the writers the server
 * takes. An old imageio answers 405 or 204: no zero, no flush, one writer.
 */
export function imageioOptions(url: string, tls: ImageioTls): Promise<ImageioFeatures> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: "OPTIONS",
        ...(tls.ca === null ? {} : { ca: tls.ca }),
        rejectUnauthorized: !tls.insecure,
        timeout: 60000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          if (status === 405 || status === 204) {
            resolve({ canZero: false, canFlush: false, maxWriters: 1 });
            return;
          }
          if (status !== 200) {
            reject(
              new UserError(
                `could not use OPTIONS request on the imageio server ${redactTicket(url)}: ${status} ${response.statusMessage ?? ""}`.trim(),
              ),
            );
            return;
          }
          try {
            const answer = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
              features?: unknown;
              max_writers?: unknown;
            };
            const features = Array.isArray(answer.features) ? answer.features : [];
            resolve({
              canZero: features.includes("zero"),
              canFlush: features.includes("flush"),
              maxWriters: typeof answer.max_writers === "number" ? answer.max_writers : 1,
            });
          } catch {
            reject(
              new UserError(
                `the imageio server ${redactTicket(url)} answered OPTIONS without JSON`,
              ),
            );
          }
        });
      },
    );
    request.on("timeout", () => request.destroy(new Error("no answer (timed out)")));
    request.on("error", (err: NodeJS.ErrnoException) =>
      reject(
        new UserError(
          `cannot connect to the imageio server ${redactTicket(url)}: ${err.code ?? ""}${err.code ? " " : ""}${err.message}`,
        ),
      ),
    );
    request.end();
  });
}

/** curl's config syntax for one quoted value. */
function curlQuoted(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * Writes the transfer URL where only the plugin reads it (mode 0600, a curl config file), so
 * that the ticket is on no command line.
 */
export async function writeUrlConfig(file: string, url: string): Promise<void> {
  await writeFile(file, `url = ${curlQuoted(url)}\n`, { mode: 0o600 });
}

/** The nbdkit server writing to one transfer. */
export function imageioWriterSpec(options: {
  urlConfig: string;
  size: number;
  tls: ImageioTls;
  features: ImageioFeatures;
}): NbdkitSpec {
  const params: Array<readonly [string, string]> = [
    ["script", IMAGEIO_WRITER_SCRIPT],
    ["urlconfig", options.urlConfig],
    ["size", String(options.size)],
  ];
  if (options.tls.cafile !== null) params.push(["cafile", options.tls.cafile]);
  params.push(
    ["insecure", String(options.tls.insecure)],
    ["zero", String(options.features.canZero)],
    ["flush", String(options.features.canFlush)],
  );
  return {
    kind: "nbdkit",
    plugin: "sh",
    filters: [],
    params,
    // Requests in flight: as many as 2.2's pool of HTTP connections, min(max_writers, 4).
    threads: Math.max(1, Math.min(options.features.maxWriters, MAX_CONNECTIONS)),
  };
}
