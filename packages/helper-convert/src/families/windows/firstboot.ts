/**
 * Windows firstboot (libguestfs-common's Firstboot.Windows, as virt-v2v 2.2 uses it): batch
 * scripts the converted guest runs once, at its first boot on KVM, for what cannot be done
 * offline (installing the guest agent, uninstalling the old hypervisor's tools).
 *
 * Layout: `C:\Program Files\Guestfs\Firstboot\` holds `firstboot.bat` (runs every
 * `scripts\*.bat` in name order, moving each to `scripts-done\`, logging to `log.txt`, then
 * removes the service) and the service wrapper (rhsrvany.exe or pvvxsvc.exe, from
 * $VIRT_TOOLS_DATA_DIR), registered in the SYSTEM hive as the auto-start service "firstboot".
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { UserError } from "@split-v2v/common";
import { withHiveWrite, type RegistryEdit } from "./registry.js";
import type { WindowsContext } from "./context.js";
import { guestSpelling } from "./paths.js";

/** Where the service wrapper and other tools are found when $VIRT_TOOLS_DATA_DIR is not set. */
export const DEFAULT_VIRT_TOOLS_DATA_DIR = "/usr/share/virt-tools";

export function virtToolsDataDir(environment: NodeJS.ProcessEnv = process.env): string {
  return environment.VIRT_TOOLS_DATA_DIR ?? DEFAULT_VIRT_TOOLS_DATA_DIR;
}

/** The firstboot directory, as the guest sees it and as libguestfs names it. */
export const FIRSTBOOT_DIR_WINDOWS = "C:\\Program Files\\Guestfs\\Firstboot";
const FIRSTBOOT_DIR_PARTS = ["Program Files", "Guestfs", "Firstboot"] as const;

/** The service wrappers that can run firstboot.bat, in order of preference. */
const SERVICE_WRAPPERS = ["rhsrvany.exe", "pvvxsvc.exe"] as const;

/** Script file names keep letters, digits and _ (anything else becomes -), 60 at most. */
export function sanitizeScriptName(name: string): string {
  return name.replace(/[^a-z0-9_]/gi, "-").slice(0, 60);
}

/** Text files for the guest: Windows line endings. */
export function toCrlf(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}

function firstbootBat(wrapper: string): string {
  return `@echo off

setlocal EnableDelayedExpansion
set firstboot=${FIRSTBOOT_DIR_WINDOWS}
set log=%firstboot%\\log.txt

set scripts=%firstboot%\\scripts
set scripts_done=%firstboot%\\scripts-done

call :main >> "%log%" 2>&1
exit /b

:main
echo starting firstboot service

if not exist "%scripts_done%" (
  mkdir "%scripts_done%"
)

for %%f in ("%scripts%"\\*.bat) do (
  echo running "%%f"
  move "%%f" "%scripts_done%"
  pushd "%scripts_done%"
  call "%%~nf"
  set elvl=!errorlevel!
  echo .... exit code !elvl!
  popd
)

echo uninstalling firstboot service
"%firstboot%\\${wrapper}" -s firstboot uninstall
`;
}

/** The firstboot service of one guest: installed on first use, then scripts added to it. */
export class WindowsFirstboot {
  private directory: string | null = null;
  private scriptCount = 0;

  constructor(
    private readonly context: WindowsContext,
    private readonly toolsDir: string = virtToolsDataDir(),
  ) {}

  /** The guest path of the firstboot directory, creating and registering the service once. */
  async install(): Promise<string> {
    if (this.directory !== null) return this.directory;
    const { g, windows } = this.context;
    const wrapper = SERVICE_WRAPPERS.find((name) => existsSync(path.join(this.toolsDir, name)));
    if (wrapper === undefined) {
      throw new UserError(
        `One of rhsrvany.exe or pvvxsvc.exe is missing in ${this.toolsDir}.  One of them is required in order to install Windows firstboot scripts.  You can get one by building rhsrvany (https://github.com/rwmjones/rhsrvany), or point VIRT_TOOLS_DATA_DIR at a directory that has it`,
      );
    }
    // Spelled as the guest already spells "Program Files".
    const directory = await guestSpelling(g, `/${FIRSTBOOT_DIR_PARTS.join("/")}`);
    await g.mkdirP(directory);
    await g.mkdirP(`${directory}/scripts`);
    await g.upload(path.join(this.toolsDir, wrapper), `${directory}/${wrapper}`);
    await g.write(`${directory}/firstboot.bat`, toCrlf(firstbootBat(wrapper)));

    const services = [windows.currentControlSet, "services"];
    const edits: RegistryEdit[] = [
      {
        path: [...services, "firstboot"],
        values: [
          ["Type", { type: "dword", value: 0x10 }],
          ["Start", { type: "dword", value: 0x2 }],
          ["ErrorControl", { type: "dword", value: 0x1 }],
          ["ImagePath", { type: "sz", value: `${FIRSTBOOT_DIR_WINDOWS}\\${wrapper} -s firstboot` }],
          ["DisplayName", { type: "sz", value: "Virt tools firstboot service" }],
          ["ObjectName", { type: "sz", value: "LocalSystem" }],
        ],
      },
      {
        path: [...services, "firstboot", "Parameters"],
        values: [
          [
            "CommandLine",
            { type: "sz", value: `cmd /c "${FIRSTBOOT_DIR_WINDOWS}\\firstboot.bat"` },
          ],
          ["PWD", { type: "sz", value: FIRSTBOOT_DIR_WINDOWS }],
        ],
      },
    ];
    await withHiveWrite(g, windows.systemHive, (hive) => hive.importEdits(edits));
    this.context.recordChange(
      `${directory}/firstboot.bat`,
      `firstboot service "firstboot" (${wrapper}) installed and registered in the SYSTEM hive`,
    );
    this.directory = directory;
    return directory;
  }

  /**
   * Adds a batch script (run in name order: priority, then the order added). Returns its
   * guest path.
   */
  async addScript(name: string, content: string, priority = 5000): Promise<string> {
    const directory = await this.install();
    this.scriptCount += 1;
    const file = `${directory}/scripts/${String(priority).padStart(4, "0")}-${String(this.scriptCount).padStart(4, "0")}-${sanitizeScriptName(name)}.bat`;
    await this.context.g.write(file, toCrlf(content));
    this.context.recordChange(file, `firstboot script: ${name}`);
    return file;
  }

  /**
   * Adds a PowerShell script: Windows does not run .ps1 files directly, so the script goes to
   * %SystemRoot%\Temp and a batch script runs it with the execution policy bypassed.
   */
  async addPowershell(filename: string, lines: readonly string[], priority = 5000): Promise<void> {
    const { g, windows } = this.context;
    const tempDir = await guestSpelling(g, `${windows.systemroot}/Temp`);
    await g.mkdirP(tempDir);
    const scriptPath = `${tempDir}/${filename}`;
    await g.write(scriptPath, lines.map((line) => `${line}\r\n`).join(""));
    this.context.recordChange(scriptPath, `PowerShell script run at first boot`);
    const tempDirName = tempDir.split("/").pop() ?? "Temp";
    await this.addScript(
      filename,
      `%SystemRoot%\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -ExecutionPolicy ByPass -file %SystemRoot%\\${tempDirName}\\${filename}`,
      priority,
    );
  }
}
