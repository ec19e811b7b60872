import { test } from "node:test";
import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { helperEventSchema } from "@split-v2v/metadata-schema";
import { formatHelperEvent, parseHelperEvent, type HelperEvent } from "../src/index.js";

test("the events a helper prints are valid against the published helper-event schema", () => {
  const validate = new Ajv2020({ strict: true, strictRequired: false }).compile(helperEventSchema);
  const events: HelperEvent[] = [
    { event: "message", text: "Inspecting the source" },
    { event: "info", text: "i" },
    { event: "warning", text: "w" },
    { event: "error", text: "e", bug: true },
    { event: "ready", sockets: ["in0", "in1"] },
  ];
  for (const event of events) {
    const line = formatHelperEvent(event);
    assert.ok(validate(JSON.parse(line)), `${line}: ${JSON.stringify(validate.errors)}`);
    assert.deepEqual(parseHelperEvent(line), event);
  }
  assert.ok(!validate({ event: "ready" }), "ready names its sockets");
  // A kind this reader does not know is ignored, not an error (CONTRACT.md).
  assert.equal(parseHelperEvent('{"event":"progress","percent":3}'), null);
});
