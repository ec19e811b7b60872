#!/usr/bin/env node
/**
 * Makes test/kubevirt-openapi.json: the definitions of KubeVirt's published OpenAPI document
 * (api/openapi-spec/swagger.json in github.com/kubevirt/kubevirt) reachable, through $ref, from
 * v1.VirtualMachine and v1.VirtualMachineInstance, with a header saying where they came from.
 * The tests validate the YAML -o kubevirt writes against them.
 *
 *   node extract-kubevirt-openapi.mjs GIT_DIR [COMMIT]
 *
 * GIT_DIR is a clone of kubevirt/kubevirt (a bare one will do); COMMIT defaults to HEAD. The
 * definitions are copied unchanged, sorted by name, and the file is formatted by the project's
 * prettier.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SPEC_PATH = "api/openapi-spec/swagger.json";
const ROOTS = ["v1.VirtualMachine", "v1.VirtualMachineInstance"];
const OUTPUT = path.join(path.dirname(fileURLToPath(import.meta.url)), "kubevirt-openapi.json");

const [gitDir, commitArg = "HEAD"] = process.argv.slice(2);
if (gitDir === undefined) {
  process.stderr.write("usage: extract-kubevirt-openapi.mjs GIT_DIR [COMMIT]\n");
  process.exit(2);
}
const git = (...args) =>
  execFileSync("git", ["-C", gitDir, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
const commit = git("rev-parse", `${commitArg}^{commit}`).trim();
const swagger = JSON.parse(git("show", `${commit}:${SPEC_PATH}`));

/** Every "#/definitions/NAME" a schema refers to, at any depth. */
function refsOf(schema, found = new Set()) {
  if (Array.isArray(schema)) for (const item of schema) refsOf(item, found);
  else if (schema !== null && typeof schema === "object") {
    for (const [key, value] of Object.entries(schema)) {
      if (key === "$ref" && typeof value === "string" && value.startsWith("#/definitions/"))
        found.add(value.slice("#/definitions/".length));
      else refsOf(value, found);
    }
  }
  return found;
}

const reachable = new Set();
const pending = [...ROOTS];
while (pending.length > 0) {
  const name = pending.pop();
  if (reachable.has(name)) continue;
  const definition = swagger.definitions[name];
  if (definition === undefined) throw new Error(`${SPEC_PATH}: no definition ${name}`);
  reachable.add(name);
  for (const ref of refsOf(definition)) pending.push(ref);
}

const fixture = {
  source: {
    repository: "https://github.com/kubevirt/kubevirt",
    commit,
    path: SPEC_PATH,
    licence: "Apache-2.0",
    title: swagger.info?.title,
    swagger: swagger.swagger,
    extracted: `the definitions reachable through $ref from ${ROOTS.join(" and ")}, unchanged`,
    script: "packages/helper-output-kubevirt/test/extract-kubevirt-openapi.mjs",
  },
  definitions: Object.fromEntries(
    [...reachable].sort().map((name) => [name, swagger.definitions[name]]),
  ),
};
const prettier = await import("prettier");
const options = (await prettier.resolveConfig(OUTPUT)) ?? {};
writeFileSync(
  OUTPUT,
  await prettier.format(JSON.stringify(fixture), { ...options, filepath: OUTPUT }),
);
process.stdout.write(`${OUTPUT}: ${reachable.size} definitions from ${commit}\n`);
