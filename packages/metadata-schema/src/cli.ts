#!/usr/bin/env node
/**
 * v2v-metadata: check or describe the files that join the split-v2v stages.
 *
 *   v2v-metadata validate FILE...     exit 0 when every file is valid metadata.in/metadata.out
 *   v2v-metadata schema in|out        print the JSON Schema (draft 2020-12)
 *   v2v-metadata write-schemas DIR    write the shipped .json schemas (the package's schema/)
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import {
  MetadataError,
  SHIPPED_SCHEMAS,
  metadataInSchema,
  metadataOutSchema,
  readAnyMetadata,
} from "./index.js";

const usage = `usage: v2v-metadata validate FILE...
       v2v-metadata schema in|out
       v2v-metadata write-schemas DIR

Validates split-v2v metadata.in / metadata.out files against their JSON Schema,
or prints the schema.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h") {
    console.log(usage);
    return 0;
  }
  if (command === "validate" && rest.length > 0) {
    let failures = 0;
    for (const file of rest) {
      try {
        const { kind } = await readAnyMetadata(file);
        console.log(`${file}: valid ${kind}`);
      } catch (err) {
        if (!(err instanceof MetadataError)) throw err;
        failures++;
        console.error(`v2v-metadata: error: ${err.message}`);
        for (const problem of err.problems.slice(1)) console.error(`  ${problem}`);
      }
    }
    return failures === 0 ? 0 : 1;
  }
  if (command === "schema" && rest.length === 1 && (rest[0] === "in" || rest[0] === "out")) {
    const schema = rest[0] === "in" ? metadataInSchema : metadataOutSchema;
    console.log(JSON.stringify(schema, null, 2));
    return 0;
  }
  if (command === "write-schemas" && rest.length === 1) {
    for (const [name, schema] of Object.entries(SHIPPED_SCHEMAS)) {
      await writeFile(path.join(rest[0]!, name), `${JSON.stringify(schema, null, 2)}\n`);
    }
    return 0;
  }
  console.error(
    `v2v-metadata: error: ${command === undefined ? "no command given" : `bad command line: ${argv.join(" ")}`}\n${usage}`,
  );
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`v2v-metadata: error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
