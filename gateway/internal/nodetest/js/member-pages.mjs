// Walks a member through the gateway's pages in headless Chromium, as a
// member would, and checks each page with axe-core: sign in, consent with
// one data category unticked, allow; the app (a Go test server) exchanges
// the code and reads; then the connected apps page, the app's access
// history, and revoking it; finally the app tries again.
//
// Signing in, consenting and revoking are done with the keyboard alone.
// Every page is checked with axe-core (WCAG 2.0/2.1 A and AA rules) at a
// desktop and a phone width; the script reports every violation, and the
// Go test fails on serious or critical ones. With SCREENSHOT_DIR set it
// saves the consent, connected apps and access history pages there.
//
// Environment:
//   CHROMIUM        the Chromium binary
//   BASE            the gateway's base URL
//   LAUNCH_URL      the authorization request (the app's redirect URI is a test server)
//   APP_CALL_URL    the test app's page that calls the FHIR API with its token
//   MEMBER, PASSWORD  the member
//   LANG_UNDER_TEST the browser's language (Accept-Language), e.g. en or es
//   UNTICK          the data category to untick on the consent page
//   SCREENSHOT_DIR  optional: where to save screenshots (<page>-<LANG>.png)
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
const LANG = env("LANG_UNDER_TEST");
const STEP_TIMEOUT = 20_000;
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

const userDataDir = mkdtempSync(join(tmpdir(), "pag-member-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: env("CHROMIUM"),
  headless: true,
  locale: LANG,
  extraHTTPHeaders: { "Accept-Language": LANG },
  viewport: DESKTOP,
  // axe is injected as a script; the pages' own CSP (default-src 'self')
  // would refuse it. Only the checker is let in: the pages load nothing.
  bypassCSP: true,
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
  if (![new URL(env("BASE")).origin, new URL(env("APP_CALL_URL")).origin].includes(u.origin)) external.push(r.url());
});

const report = { lang: LANG, pages: {}, external };

// check runs axe on the current page at both widths and records what the
// page is: its path, language and title, and every violation.
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

// tabTo moves the focus with the Tab key alone until it reaches the
// element selector names, as a keyboard-only member would; it fails if the
// element cannot be reached that way.
async function tabTo(selector) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((sel) => document.activeElement === document.querySelector(sel), selector)) return;
  }
  throw new Error(`${selector} cannot be reached with the Tab key`);
}

async function screenshot(name) {
  const dir = process.env.SCREENSHOT_DIR;
  if (dir) await page.screenshot({ path: join(dir, `${name}-${LANG}.png`), fullPage: true });
}

async function appResult() {
  await page.waitForSelector("#result");
  return JSON.parse(await page.textContent("#result"));
}

let code = 0;
try {
  await page.goto(env("LAUNCH_URL"));
  await page.waitForSelector("#username");
  await check("login");
  // Keyboard only: the first Tab reaches the skip link; then the form.
  await page.keyboard.press("Tab");
  report.skipLink = await page.evaluate(() => document.activeElement?.getAttribute("href"));
  await tabTo("#username");
  await page.keyboard.type(env("MEMBER"));
  await tabTo("#password");
  await page.keyboard.type(env("PASSWORD"));
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.keyboard.press("Enter")]);

  await page.waitForSelector("#hipaa-warning");
  await check("consent");
  report.offered = await page.$$eval('input[name="share"]', (els) => els.map((e) => e.value));
  // Keyboard only: untick the category with Space, allow with Enter.
  await tabTo(`#share-${env("UNTICK")}`);
  await page.keyboard.press("Space");
  report.unticked = !(await page.isChecked(`#share-${env("UNTICK")}`));
  await screenshot("consent");
  await tabTo('button[value="allow"]');
  await page.keyboard.press("Enter");
  report.app = await appResult();

  await page.goto(env("BASE") + "/account/apps");
  await page.waitForSelector("article.app");
  await check("apps");
  report.listed = await page.$$eval("article.app h2", (els) => els.map((e) => e.textContent.trim()));
  await screenshot("connected-apps");

  await page.click('article.app a[href$="/history"]');
  await page.waitForSelector("table");
  await check("history");
  report.history = await page.$$eval("tbody tr", (rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent.trim())));
  await screenshot("access-history");

  await page.goto(env("BASE") + "/account/apps");
  // Keyboard only: follow the End access link, confirm.
  await tabTo('article.app a[href$="/revoke"]');
  await Promise.all([page.waitForURL((u) => u.pathname.endsWith("/revoke")), page.keyboard.press("Enter")]);
  await page.waitForSelector("main form button.danger-button");
  await check("revoke");
  report.revokeButton = (await page.textContent("main form button.danger-button")).trim();
  await tabTo("main form button.danger-button");
  await page.keyboard.press("Enter");
  await page.waitForSelector(".notice");
  report.afterRevoke = { notice: (await page.textContent(".notice")).trim(), listed: await page.$$eval("article.app", (els) => els.length) };

  await page.goto(env("APP_CALL_URL"));
  report.appAfterRevoke = await appResult();

  await page.goto(env("BASE") + "/no/such/page");
  await check("not-found");
  process.stdout.write(JSON.stringify(report) + "\n");
} catch (err) {
  code = 1;
  let text = "";
  try {
    text = (await page.textContent("body")) ?? "";
  } catch {}
  process.stderr.write(`member-pages: ${err.stack ?? err}\nat ${page.url()}\n${text.slice(0, 3000)}\nconsole:\n${consoleLines.join("\n")}\n`);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(code);
