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
