/**
 * virt-v2v's options are single-dash words (`-os`, `-of`, `-ic`); yargs would read `-os` as `-o -s`
 * unless short-option grouping is off. Every split-v2v command line uses this parser setting.
 */
export const V2V_PARSER_CONFIGURATION = {
  "short-option-groups": false,
  "camel-case-expansion": false,
  "strip-aliased": true,
  "boolean-negation": false,
  "duplicate-arguments-array": true,
} as const;

/** The options every helper program takes, besides its own. */
export const HELPER_OPTIONS = {
  "exit-with-parent": {
    type: "boolean",
    default: false,
    describe: "Stop when the parent process dies",
  },
  verbose: { alias: "v", type: "boolean", default: false, describe: "Log debug messages" },
} as const;
