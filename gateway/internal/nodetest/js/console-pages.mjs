// Walks plan staff and an app developer through the admin console and the
// developer portal in headless Chromium, and checks every page with
// axe-core (WCAG 2.0/2.1 A and AA rules) at a desktop and a phone width:
// the admin signs in, opens the review queue and a pending app, approves
// it, filters the registry, suspends an approved app citing a criterion
// (the app's next call then gets 401), reads the decisions report; a
// developer reads the documentation, signs up, opens the registration
// form and registers an app, which lands pending. With SCREENSHOT_DIR set
// it saves the review queue and the app detail there.
//
// Environment:
//   CHROMIUM          the Chromium binary
//   BASE              the gateway's base URL
//   ADMIN, PASSWORD   a console admin account
//   PENDING_NAME      the pending app to approve
//   SUSPEND_ID        the approved app to suspend, whose token APP_CALL_URL uses
//   CRITERION         the criterion id the suspension cites
//   APP_CALL_URL      the app's page that calls the FHIR API with its token
//   SCREENSHOT_DIR    optional: where to save screenshots
//
// Prints one line of JSON: what each step saw.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axePath = require.resolve("axe-core/axe.min.js");
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const BASE = env("BASE");
const STEP_TIMEOUT = 20_000;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

const userDataDir = mkdtempSync(join(tmpdir(), "pag-console-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: env("CHROMIUM"),
  headless: true,
  locale: "en",
  viewport: DESKTOP,
  bypassCSP: true, // only to inject axe; the pages themselves load nothing
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
const external = [];
page.on("request", (r) => {
  const u = new URL(r.url());
  if (![new URL(BASE).origin, new URL(env("APP_CALL_URL")).origin].includes(u.origin)) external.push(r.url());
});

const report = { pages: {}, external };

async function check(name) {
  const seen = { path: new URL(page.url()).pathname, lang: await page.evaluate(() => document.documentElement.lang),
    title: await page.title(), violations: [] };
  for (const [width, size] of [["desktop", DESKTOP], ["phone", PHONE]]) {
    await page.setViewportSize(size);
    await page.addScriptTag({ path: axePath });
    const result = await page.evaluate(async () =>
      await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
    for (const v of result.violations) {
      seen.violations.push({ width, id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) });
    }
  }
  await page.setViewportSize(DESKTOP);
  report.pages[name] = seen;
}

async function screenshot(name) {
  const dir = process.env.SCREENSHOT_DIR;
  if (dir) await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

async function appCall() {
  const p = await context.newPage();
  try {
    await p.goto(env("APP_CALL_URL"));
    await p.waitForSelector("#result");
    return JSON.parse(await p.textContent("#result"));
  } finally {
    await p.close();
  }
}

let code = 0;
try {
  // Sign in: the console sends an unsigned browser to its sign-in page.
  await page.goto(BASE + "/console/");
  await page.waitForSelector("#username");
  await check("console-signin");
  await page.fill("#username", env("ADMIN"));
  await page.fill("#password", env("PASSWORD"));
  await Promise.all([page.waitForURL((u) => u.pathname === "/console/"), page.click("form[action='/console/signin'] button")]);
  await page.waitForSelector("table.list");
  await check("console-queue");
  report.queue = await page.$$eval("table.list tbody tr td:first-child a", (els) => els.map((e) => e.textContent.trim()));
  await screenshot("review-queue");

  // The pending app: its detail, then approve.
  await Promise.all([page.waitForURL((u) => u.pathname.startsWith("/console/apps/")),
    page.click(`table.list a:text-is("${env("PENDING_NAME")}")`)]);
  await page.waitForSelector("#decide-approve");
  await check("console-app");
  await screenshot("app-detail");
  await Promise.all([page.waitForURL((u) => u.search.includes("done=approve")), page.click("#decide-approve button[type=submit]")]);
  report.approved = { notice: (await page.textContent(".notice")).trim(), status: (await page.textContent("h1 .status")).trim() };

  // The registry, filtered and searched.
  await page.goto(BASE + "/console/apps");
  await page.selectOption("#status", "approved");
  await page.fill("#q", env("PENDING_NAME"));
  await Promise.all([page.waitForURL((u) => u.search.includes("status=approved")), page.click("form.filters button")]);
  await check("console-registry");
  report.registry = await page.$$eval("table.list tbody tr td:first-child a", (els) => els.map((e) => e.textContent.trim()));

  // Suspend the approved app, citing a criterion; its token dies at once.
  report.callBefore = await appCall();
  await page.goto(BASE + "/console/apps/" + env("SUSPEND_ID"));
  await page.waitForSelector("#decide-suspend");
  await page.check(`#decide-suspend input[value="${env("CRITERION")}"]`);
  await page.fill("#suspend-evidence", "Its client secret was posted in a public repository.");
  await Promise.all([page.waitForURL((u) => u.search.includes("done=suspend")), page.click("#decide-suspend button[type=submit]")]);
  const suspendedAt = Date.now();
  report.callAfter = await appCall();
  report.callAfterMs = Date.now() - suspendedAt;
  report.suspended = { notice: (await page.textContent(".notice")).trim(), status: (await page.textContent("h1 .status")).trim() };
  await check("console-app-suspended");

  await page.goto(BASE + "/console/report");
  await check("console-report");
  report.reportRows = await page.$$eval("table.list tbody tr", (rows) => rows.length);

  // The developer portal.
  await page.goto(BASE + "/developers/");
  await check("portal-docs");
  await page.goto(BASE + "/developers/signin");
  await check("portal-signin");
  await page.fill("#signup-email", "dev@walk.example");
  await page.fill("#signup-org", "Walk Apps");
  await page.fill("#signup-password", "a long developer password");
  await Promise.all([page.waitForURL((u) => u.pathname === "/developers/apps"), page.click("form[action='/developers/signup'] button")]);
  await check("portal-apps");
  await page.goto(BASE + "/developers/apps/new");
  await check("portal-register");
  await page.fill("#name", "Walk Tracker");
  await page.fill("#redirect_uris", "https://walk.example/callback");
  await page.fill("#privacy_policy_url", "https://walk.example/privacy");
  await Promise.all([page.waitForSelector("h1 .status"), page.click("form[action='/developers/apps'] button[type=submit]")]);
  await check("portal-app");
  report.registered = (await page.textContent("h1 .status")).trim();
  process.stdout.write(JSON.stringify(report) + "\n");
} catch (err) {
  code = 1;
  let text = "";
  try {
    text = (await page.textContent("body")) ?? "";
  } catch {}
  process.stderr.write(`console-pages: ${err.stack ?? err}\nat ${page.url()}\n${text.slice(0, 3000)}\nconsole:\n${consoleLines.join("\n")}\n`);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(code);
