// Drives a SMART app built on the unmodified SMART JavaScript client
// (fhirclient) through a standalone launch in headless Chromium, as a member
// would: open the app's launch page, sign in and allow on the gateway's
// pages, then wait for the app page to report what it read.
//
// Environment:
//   CHROMIUM    the Chromium binary (Debian's /usr/bin/chromium)
//   LAUNCH_URL  the app's launch page (it calls FHIR.oauth2.authorize)
//   MEMBER, PASSWORD  the member who signs in
//
// Prints one line: the JSON the app page wrote into #result, with the
// member-facing pages it passed through. Exits non-zero, with the page's
// URL, text and console on stderr, if any step fails.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const STEP_TIMEOUT = 20_000;
const userDataDir = mkdtempSync(join(tmpdir(), "pag-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: env("CHROMIUM"),
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(STEP_TIMEOUT);
const consoleLines = [];
page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));

let code = 0;
try {
  const visited = [];
  await page.goto(env("LAUNCH_URL"));

  await page.waitForSelector("#username");
  visited.push(new URL(page.url()).pathname);
  await page.fill("#username", env("MEMBER"));
  await page.fill("#password", env("PASSWORD"));
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.click("button[type=submit]")]);

  await page.waitForSelector("#hipaa-warning");
  visited.push(new URL(page.url()).pathname);
  await page.click('button[value="allow"]');

  await page.waitForFunction(() => document.querySelector("#result")?.textContent, null, { timeout: STEP_TIMEOUT });
  const result = JSON.parse(await page.textContent("#result"));
  visited.push(new URL(page.url()).pathname);
  process.stdout.write(JSON.stringify({ ...result, visited }) + "\n");
} catch (err) {
  code = 1;
  let text = "";
  try {
    text = (await page.textContent("body")) ?? "";
  } catch {}
  process.stderr.write(`fhirclient-chromium: ${err.stack ?? err}\nat ${page.url()}\n${text.slice(0, 2000)}\nconsole:\n${consoleLines.join("\n")}\n`);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(code);
