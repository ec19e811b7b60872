#!/usr/bin/env node
// Writes the manual pages of the installed programs into DIR/man1, generated from what the
// programs themselves say: `virt-v2v --help` and its table of modes, each helper's --describe
// and --help. So a man page cannot drift from the program it describes.
//   usage: node scripts/man-pages.mjs DIR
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outputDir = path.join(process.argv[2] ?? "man", "man1");
mkdirSync(outputDir, { recursive: true });
const version = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).version;
const date = new Date().toISOString().slice(0, 10);

/** Text for groff: backslashes doubled, and no line may start with a control character. */
function escape(text) {
  return (
    text
      .replace(/\\/g, "\\e")
      // ASCII for the typographic characters of the help texts, which man shows in any locale.
      .replace(/…/g, "...")
      .replace(/[‘’]/g, "'")
      .replace(/→/g, "->")
      .split("\n")
      .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
      .join("\n")
  );
}

function run(bin, args) {
  return execFileSync(process.execPath, [path.join(root, bin), ...args], { encoding: "utf8" });
}

function page(name, summary, sections) {
  const lines = [
    `.TH ${name.toUpperCase()} 1 "${date}" "split-v2v ${version}" "split-v2v"`,
    ".SH NAME",
    `${name} \\- ${escape(summary)}`,
  ];
  for (const [title, body, verbatim] of sections) {
    lines.push(`.SH ${title}`);
    lines.push(verbatim ? `.nf\n${escape(body.trimEnd())}\n.fi` : escape(body.trim()));
  }
  writeFileSync(path.join(outputDir, `${name}.1`), `${lines.join("\n")}\n`);
}

const helpers = [
  "packages/helper-input-disk/bin/helper-v2v-input-disk.mjs",
  "packages/helper-input-ova/bin/helper-v2v-input-ova.mjs",
  "packages/helper-input-vmx/bin/helper-v2v-input-vmx.mjs",
  "packages/helper-input-vddk/bin/helper-v2v-input-vddk.mjs",
  "packages/helper-convert/bin/helper-v2v-convert.mjs",
  "packages/helper-output-local/bin/helper-v2v-output-local.mjs",
  "packages/helper-output-null/bin/helper-v2v-output-null.mjs",
];
const described = helpers.map((bin) => ({ bin, facts: JSON.parse(run(bin, ["--describe"])) }));
const seeAlso = described.map(({ facts }) => `${facts.program}(1)`).join(", ");

const help = run("packages/supervisor/bin/virt-v2v.mjs", ["--help"]);
page("virt-v2v", "convert a guest to use KVM (split-v2v: a supervisor of helper programs)", [
  ["SYNOPSIS", help.split("\n\n")[1] + "\n\n" + help.split("\n\n")[2], true],
  [
    "DESCRIPTION",
    "virt-v2v converts a guest from a foreign hypervisor (VMware vCenter, ESXi or Workstation, Xen, libvirt, or plain disk images) to run on KVM. This is split-v2v: virt-v2v 2.2's command line, options, messages and output files, run as a supervisor of separate helper programs, one per stage (input, conversion, output), which other programs may drive too (see the helper contract, CONTRACT.md in the metadata-schema package).",
    false,
  ],
  ["OPTIONS", help.slice(help.indexOf("Options:")), true],
  ["SEE ALSO", `${seeAlso}, v2v-metadata(1); virt-v2v 2.2's own manual for each option.`, false],
]);

for (const { bin, facts } of described) {
  page(facts.program, facts.summary, [
    ["SYNOPSIS", `${facts.program} --describe\n${run(bin, ["--help"]).split("\n")[0]}`, true],
    [
      "DESCRIPTION",
      `${facts.summary}. Part of split-v2v (contract version ${facts.contract}); virt-v2v runs it for ${facts.kind === "convert" ? "the conversion" : `${facts.kind === "input" ? "-i" : "-o"} ${[facts.name, ...(facts.aliases ?? [])].join(", ")}`} (${facts.usage}). --describe prints these facts as JSON.`,
      false,
    ],
    ["OPTIONS", run(bin, ["--help"]), true],
    ["SEE ALSO", "virt-v2v(1), and CONTRACT.md in the metadata-schema package.", false],
  ]);
}

page("v2v-metadata", "check or describe the files that join the split-v2v stages", [
  ["SYNOPSIS", run("packages/metadata-schema/bin/v2v-metadata.mjs", ["--help"]), true],
  ["SEE ALSO", "virt-v2v(1)", false],
]);
console.log(outputDir);
