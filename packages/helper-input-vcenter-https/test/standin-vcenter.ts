/**
 * A stand-in vCenter for the tests (no vCenter can run here): an HTTPS server (node:https, a
 * self-signed certificate for 127.0.0.1 made by `openssl req`) that speaks the part of vCenter's
 * interface virt-v2v uses. One flat disk of random bytes at
 * `/folder/guest/guest-flat.vmdk?dcPath=DATACENTER&dsName=DATASTORE`; HEAD and Range reads;
 * a HEAD with the right Basic credentials logs in (answers with the session cookie, what the
 * cookie script fetches); every other request needs that cookie (401 otherwise); any other path
 * (a snapshot's `guest-000001-flat.vmdk`) is 404.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { execa } from "execa";

export const USER = "administrator@vsphere.local";
export const PASSWORD = "stand-in vCenter password";
export const DATACENTER = "Datacenter/Folder A";
export const DATASTORE = "datastore1";
const COOKIE = "vmware_soap_session";

export interface StandinVcenter {
  port: number;
  disk: Buffer;
  /** Every request the stand-in answered: "METHOD path status". */
  requests: string[];
  close(): Promise<void>;
}

/** The stand-in vCenter: one flat disk at /folder/guest/guest-flat.vmdk. */
export async function startStandinVcenter(dir: string, diskSize: number): Promise<StandinVcenter> {
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  await execa("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ]);
  const disk = randomBytes(diskSize);
  const session = randomBytes(16).toString("hex");
  const requests: string[] = [];
  const server = https.createServer(
    { key: await readFile(key), cert: await readFile(cert) },
    (request, response) => {
      const answer = (status: number, headers: Record<string, string | number> = {}) => {
        requests.push(`${request.method} ${request.url} ${status}`);
        response.writeHead(status, headers);
      };
      const url = new URL(request.url ?? "/", "https://127.0.0.1");
      if (
        url.pathname !== "/folder/guest/guest-flat.vmdk" ||
        url.searchParams.get("dcPath") !== DATACENTER ||
        url.searchParams.get("dsName") !== DATASTORE
      ) {
        answer(404);
        response.end();
        return;
      }
      const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
      const hasCookie = (request.headers.cookie ?? "").includes(`${COOKIE}="${session}"`);
      // Logging in: Basic authentication gets the session cookie (HEAD only, as the cookie
      // script asks); reads need the cookie.
      const headers: Record<string, string | number> = {
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
      };
      if (request.method === "HEAD" && request.headers.authorization === basic) {
        headers["Set-Cookie"] = `${COOKIE}="${session}"; Path=/; HttpOnly; Secure;`;
      } else if (!hasCookie) {
        answer(401, { "WWW-Authenticate": 'Basic realm="VMware HTTP server"' });
        response.end();
        return;
      }
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
      if (range === null) {
        answer(200, { ...headers, "Content-Length": disk.length });
        response.end(request.method === "HEAD" ? undefined : disk);
        return;
      }
      const start = Number(range[1]);
      const end = range[2] === "" ? disk.length - 1 : Math.min(Number(range[2]), disk.length - 1);
      answer(206, {
        ...headers,
        "Content-Length": end - start + 1,
        "Content-Range": `bytes ${start}-${end}/${disk.length}`,
      });
      response.end(request.method === "HEAD" ? undefined : disk.subarray(start, end + 1));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    disk,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
