#!/usr/bin/env node
/**
 * helper-v2v-output-null: -o null. See ../README.md.
 *
 *   helper-v2v-output-null precheck|setup|final WORKDIR
 */
import { defineOutputHelper } from "@split-v2v/common";
import { outputNullMode } from "./mode.js";
import { precheckOutputNull, setUpOutputNull } from "./output-null.js";

defineOutputHelper({
  mode: outputNullMode,
  optionsSynopsis: "",
  help: "A target that discards everything written to it (virt-v2v -o null). The -o… options are refused, as by virt-v2v; final does nothing.",
  // Taken so that each is refused with virt-v2v's words, rather than by the parser.
  options: {
    os: { type: "string", hidden: true },
    of: { type: "string", hidden: true },
    oa: { type: "string", hidden: true },
    on: { type: "string", hidden: true },
    oc: { type: "string", hidden: true },
    op: { type: "string", hidden: true },
    oo: { type: "string", array: true, default: [] as string[], hidden: true },
  },
  precheck: ({ options }) =>
    precheckOutputNull({
      outputStorage: options.os,
      outputFormat: options.of,
      outputAllocation: options.oa,
      outputConnection: options.oc,
      outputPassword: options.op,
      outputOptions: options.oo,
    }),
  setup: (_checked, request) => setUpOutputNull(request),
  final: async () => {},
});
