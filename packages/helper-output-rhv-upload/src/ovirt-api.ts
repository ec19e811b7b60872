/**
 * A small client of the oVirt engine's REST API (version 4), with the HTTP requests the Python
 * SDK (ovirtsdk4) makes for virt-v2v's rhv-upload scripts, over node:https:
 *
 *   POST {scheme://host[:port]}/ovirt-engine/sso/oauth/token   grant_type=password,
 *        scope=ovirt-app-api, username, password (form-encoded; Accept: application/json)
 *        → {"access_token": …}, or {"error_code": …, "error": …} on a refused login
 *   GET|POST|DELETE {api}/PATH   Authorization: Bearer TOKEN, Version: 4, JSON bodies
 *   POST {scheme://host[:port]}/ovirt-engine/services/sso-logout   scope, token (at the end)
 *
 * The SDK speaks XML; the engine speaks JSON as well (Accept/Content-Type: application/json),
 * which is used here: objects with the model's attribute names, scalars as strings
 * ("provisioned_size": "1073741824"), a collection as {"disk": [ … ]} ({} when empty), a fault
 * as {"reason": …, "detail": …}. As the SDK does, a 401 logs in again once and retries (the
 * session may expire during a long copy).
 *
 * The password is only ever in the body of the token request: never in a URL, a header, a
 * command line or a log line.
 */
import https from "node:https";
import { UserError } from "@split-v2v/common";

/** A JSON object of the engine. */
export type ApiObject = Record<string, unknown>;

export interface EngineOptions {
  /** The REST API URL without a user: https://server/ovirt-engine/api. */
  apiUrl: string;
  username: string;
  password: string;
  /** PEM CA bundle for the server certificate (-oo rhv-cafile); null for the system's. */
  ca: Buffer | null;
  /** Skip certificate checks (the default unless -oo rhv-verifypeer). */
  insecure: boolean;
  /** Debug log: one line per request, never a body. */
  log: (line: string) => void;
  /** Per-request timeout (default 120 s). */
  timeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  body: ApiObject | null;
}

/** An answer of the engine other than the expected one: the SDK's "Fault reason is …" error. */
export class EngineError extends UserError {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: ApiObject | null,
  ) {
    super(EngineError.describe(method, path, status, body));
  }

  static describe(method: string, path: string, status: number, body: ApiObject | null): string {
    const reason = body !== null ? stringOf(body, "reason") : null;
    const detail = body !== null ? stringOf(body, "detail") : null;
    const fault =
      reason !== null || detail !== null
        ? `: ${[reason, detail].filter((part) => part !== null).join(": ")}`
        : "";
    return `the oVirt engine answered ${method} ${path} with HTTP status ${status}${fault}`;
  }
}

/** A scalar attribute as a string (the engine's JSON writes numbers and booleans as strings). */
export function stringOf(object: ApiObject, key: string): string | null {
  const value = object[key];
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

/** A nested object attribute ({"cpu": {"architecture": …}}), or null. */
export function objectOf(object: ApiObject, key: string): ApiObject | null {
  const value = object[key];
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as ApiObject)
    : null;
}

/** The members of a collection document {"disk": [ … ]} ({} when empty). */
export function membersOf(document: ApiObject | null, kind: string): ApiObject[] {
  if (document === null) return [];
  const members = document[kind];
  if (Array.isArray(members)) {
    return members.filter(
      (member): member is ApiObject => typeof member === "object" && member !== null,
    );
  }
  return [];
}

/** Where the engine's SSO service is: the same scheme, host and port, /ovirt-engine/sso/…. */
function engineRoot(apiUrl: string): string {
  const url = new URL(apiUrl);
  return `${url.protocol}//${url.host}`;
}

interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

export class OvirtEngine {
  private token: string | null = null;
  private readonly agent: https.Agent;
  private readonly apiPath: string;

  constructor(private readonly options: EngineOptions) {
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 4,
      ...(options.ca === null ? {} : { ca: options.ca }),
      rejectUnauthorized: !options.insecure,
    });
    this.apiPath = new URL(options.apiUrl).pathname.replace(/\/+$/, "");
  }

  /** The engine's host (and port), for messages. */
  get server(): string {
    return new URL(this.options.apiUrl).host;
  }

  private send(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: string | null,
  ): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const request = https.request(
        url,
        {
          method,
          agent: this.agent,
          headers: {
            ...headers,
            ...(body === null ? {} : { "Content-Length": Buffer.byteLength(body) }),
          },
          timeout: this.options.timeoutMs ?? 120000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              contentType: String(response.headers["content-type"] ?? ""),
              text: Buffer.concat(chunks).toString("utf8"),
            }),
          );
          response.on("error", reject);
        },
      );
      request.on("timeout", () => request.destroy(new Error("no answer (timed out)")));
      request.on("error", (err: NodeJS.ErrnoException) => {
        reject(
          new UserError(
            `cannot connect to the oVirt or RHV server ${this.server}: ${err.code ?? ""}${err.code ? " " : ""}${err.message}`,
          ),
        );
      });
      if (body !== null) request.write(body);
      request.end();
    });
  }

  /** SSO login (the SDK's _get_access_token); a refused login is one clear line. */
  async login(): Promise<void> {
    const url = `${engineRoot(this.options.apiUrl)}/ovirt-engine/sso/oauth/token`;
    this.options.log(`POST /ovirt-engine/sso/oauth/token (user ${this.options.username})`);
    const form = new URLSearchParams({
      grant_type: "password",
      scope: "ovirt-app-api",
      username: this.options.username,
      password: this.options.password,
    }).toString();
    const response = await this.send(
      "POST",
      url,
      {
        Accept: "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "split-v2v",
      },
      form,
    );
    let answer: unknown = null;
    try {
      answer = JSON.parse(response.text);
    } catch {
      answer = null;
    }
    const first = Array.isArray(answer) ? (answer[0] as unknown) : answer;
    const object = typeof first === "object" && first !== null ? (first as ApiObject) : null;
    if (object === null) {
      throw new UserError(
        `cannot log in to the oVirt or RHV server ${this.server}: its SSO service answered HTTP status ${response.status} without JSON; is -oc the REST API URL, https://servername/ovirt-engine/api?`,
      );
    }
    if (object.error !== undefined || object.error_code !== undefined) {
      // OpenID answers error + error_description, OAuth error_code + error (as the SDK reads).
      const description =
        stringOf(object, "error_description") ??
        stringOf(object, "error") ??
        stringOf(object, "error_code") ??
        "login refused";
      throw new UserError(
        `cannot log in to the oVirt or RHV server ${this.server} as ${this.options.username}: ${description} (the user is taken from -oc, the password from the -op file)`,
      );
    }
    const token = stringOf(object, "access_token");
    if (token === null) {
      throw new UserError(
        `cannot log in to the oVirt or RHV server ${this.server}: its SSO service gave no access token (HTTP status ${response.status})`,
      );
    }
    this.token = token;
  }

  /** One REST call. A 401 logs in again once and retries, as the SDK does. */
  async request(
    method: "GET" | "POST" | "DELETE",
    path: string,
    options: { query?: Record<string, string>; body?: ApiObject } = {},
  ): Promise<ApiResponse> {
    if (this.token === null) await this.login();
    const encoded = new URLSearchParams(options.query ?? {}).toString();
    const query = encoded === "" ? "" : `?${encoded}`;
    const url = `${this.options.apiUrl.replace(/\/+$/, "")}/${path}${query}`;
    const shown = `${this.apiPath}/${path}${query}`;
    const body = options.body === undefined ? null : JSON.stringify(options.body);
    let response: RawResponse | null = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      response = await this.send(
        method,
        url,
        {
          Accept: "application/json",
          "Content-Type": "application/json",
          Version: "4",
          Authorization: `Bearer ${this.token ?? ""}`,
          "User-Agent": "split-v2v",
        },
        body,
      );
      this.options.log(`${method} ${shown} → ${response.status}`);
      if (response.status !== 401 || attempt > 0) break;
      await this.login();
    }
    const raw = response!;
    let parsed: ApiObject | null = null;
    if (raw.text.trim() !== "") {
      try {
        const value = JSON.parse(raw.text) as unknown;
        parsed = typeof value === "object" && value !== null ? (value as ApiObject) : null;
      } catch {
        parsed = null;
      }
    }
    return { status: raw.status, body: parsed };
  }

  /** A request that must succeed (2xx): its body, else an EngineError. */
  async call(
    method: "GET" | "POST" | "DELETE",
    path: string,
    options: { query?: Record<string, string>; body?: ApiObject } = {},
  ): Promise<ApiObject> {
    const response = await this.request(method, path, options);
    if (response.status < 200 || response.status > 299) {
      throw new EngineError(method, `${this.apiPath}/${path}`, response.status, response.body);
    }
    return response.body ?? {};
  }

  /** GET of one object, null when the engine says 404 (the SDK's NotFoundError). */
  async find(path: string): Promise<ApiObject | null> {
    const response = await this.request("GET", path);
    if (response.status === 404) return null;
    if (response.status < 200 || response.status > 299) {
      throw new EngineError("GET", `${this.apiPath}/${path}`, response.status, response.body);
    }
    return response.body ?? {};
  }

  /** A collection, with an optional search (`list(search=…, case_sensitive=True)`). */
  async list(path: string, kind: string, query: Record<string, string> = {}): Promise<ApiObject[]> {
    return membersOf(await this.call("GET", path, { query }), kind);
  }

  /** Revokes the session (the SDK's close()), and closes the kept-alive connections. */
  async close(): Promise<void> {
    const token = this.token;
    this.token = null;
    try {
      if (token !== null) {
        const form = new URLSearchParams({ scope: "ovirt-app-api", token }).toString();
        const response = await this.send(
          "POST",
          `${engineRoot(this.options.apiUrl)}/ovirt-engine/services/sso-logout`,
          { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
          form,
        );
        this.options.log(`POST /ovirt-engine/services/sso-logout → ${response.status}`);
      }
    } finally {
      this.agent.destroy();
    }
  }
}
