// The console's browser test (run by `cargo xtask test wasm`, after examples/browser/test.mjs, with
// the same tools): the reference gateway (APIG_GATEWAY_BIN) with its admin listener, headless
// Debian Chromium driven by playwright-core through /console:
//   a wrong token is refused; the right one signs in (kept in sessionStorage only); an API named
//   `<img src=x onerror=alert(1)>` stays text; publish an API, create an app (its secret shown
//   once), authorise it, debug a signed request to 200 (signed in the page by apig-wasm, relayed
//   by the admin listener to the group's debug domain; a CORS-enabled API called directly); a
//   broken secret gets APIG.0303 and the explanation.
// `node console.mjs --screenshots DIR` also saves the screenshots of docs/gateway.md there.
// Ends with `N passed, M failed`.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = process.env.APIG_ROOT ?? join(here, "..", "..", "..");
const tooling = process.env.APIG_WASM_TOOLING ?? join(repo, "bindings", "wasm", "tooling", "node_modules");
const { chromium } = createRequire(join(tooling, "noop.js"))("playwright-core");
const bin = process.env.APIG_GATEWAY_BIN ?? join(repo, "target", "debug", "apig-gateway");
const shotsAt = process.argv.indexOf("--screenshots");
const shots = shotsAt > 0 ? process.argv[shotsAt + 1] : undefined;

const TOKEN = "console-browser-token-0123456789";
const XSS = "<img src=x onerror=alert(1)>";
const WAIT = 10_000;

const deadline = setTimeout(() => {
  console.error("console browser test: timed out after 60 s");
  process.exit(1);
}, 60_000);

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `\n  ${String(detail).replaceAll("\n", "\n  ")}` : ""}`);
  }
}

async function startGateway(dir) {
  const api = (id, name, method, path) => ({ id, name, method, path, auth: "app", backend: { url: "echo:", timeout_ms: 5000 } });
  const config = {
    gateway: { error_prefix: "APIG" },
    groups: [
      {
        id: "shop",
        name: "Shop",
        domains: [],
        debug_domain: "shop.debug.example",
        debug_quota: 50,
        apis: [api("orders", "List orders", "POST", "/shop/orders"), api("xss", XSS, "GET", "/shop/xss")],
      },
      { id: "web", domains: [], apis: [{ ...api("direct", "CORS-enabled", "GET", "/web/direct"), policies: ["browser"] }] },
    ],
    environments: [{ name: "RELEASE", published: ["xss", "direct"] }],
    apps: [],
    authorizations: [],
    policies: [
      { name: "limit", type: "throttle", config: { api_limit: 100, interval: 1, unit: "minute" } },
      // any origin, the default allowed headers (the signature's and X-Stage)
      { name: "browser", type: "cors", config: {} },
    ],
  };
  const file = join(dir, "gateway.json");
  await writeFile(file, JSON.stringify(config, null, 2));
  const args = ["--listen", "127.0.0.1:0", "--config", file, "--access-log", "off", "--admin-listen", "127.0.0.1:0"];
  const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, APIG_GATEWAY_ADMIN_TOKEN: TOKEN } });
  const admin = await new Promise((resolve, reject) => {
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`the gateway did not start: ${stderr}`)), 20_000);
    child.on("exit", (code) => reject(new Error(`the gateway exited (${code}): ${stderr}`)));
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      const match = /admin API on (http:\/\/127\.0\.0\.1:\d+)\r?\n/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  return { admin, close: () => child.kill() };
}

const text = (page, selector) => page.$eval(selector, (e) => e.textContent);

// Submits a form and waits for the notice of its outcome.
async function submit(page, form, expected) {
  await page.evaluate(() => {
    document.getElementById("notice").textContent = "";
  });
  await page.click(`#${form} button[type=submit]`, { timeout: WAIT });
  await page.waitForFunction(() => document.getElementById("notice").textContent !== "", null, { timeout: WAIT });
  const notice = await text(page, "#notice");
  check(`${form}: ${expected}`, notice.includes(expected), notice);
}

async function debug(page) {
  await page.evaluate(() => {
    document.getElementById("debug-status").textContent = "";
  });
  await page.click("#debug-send", { timeout: WAIT });
  await page.waitForFunction(() => document.getElementById("debug-status").textContent !== "", null, { timeout: WAIT });
  return {
    status: await text(page, "#debug-status"),
    body: await text(page, "#debug-body-out"),
    canonical: await text(page, "#debug-canonical"),
    via: await text(page, "#debug-via"),
  };
}

const dir = await mkdtemp(join(tmpdir(), "apig-console-"));
let context;
let gateway;
try {
  gateway = await startGateway(dir);
  context = await chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1100, height: 760 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    timeout: 30_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("dialog", (d) => {
    problems.push(`dialog: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(m.text()));
  await page.goto(`${gateway.admin}/console`, { timeout: WAIT });
  await page.waitForSelector("body[data-ready=true]", { timeout: WAIT });

  // a wrong token
  await page.fill("#token", "wrong-token-0123456789");
  await page.click("#login button[type=submit]");
  await page.waitForFunction(() => document.getElementById("login-error").textContent !== "", null, { timeout: WAIT });
  check("a wrong token is refused", (await text(page, "#login-error")).includes("Wrong admin token"), await text(page, "#login-error"));
  check("the console stays hidden", await page.$eval("#console", (e) => e.hidden));
  check("nothing kept of a wrong token", (await page.evaluate(() => sessionStorage.length)) === 0);

  // the right one, with the keyboard
  await page.focus("#token");
  await page.keyboard.type(TOKEN);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#console:not([hidden])", { timeout: WAIT });
  check("the token signs in", true);
  const storage = await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length, cookie: document.cookie }));
  check("the token is in sessionStorage only", storage.session === 1 && storage.local === 0 && storage.cookie === "", JSON.stringify(storage));
  const unlabelled = await page.evaluate(() => [
    ...[...document.querySelectorAll("input, select, textarea")].filter((e) => e.labels.length === 0).map((e) => e.id),
    ...[...document.querySelectorAll("button")].filter((b) => !(b.getAttribute("aria-label") || b.textContent.trim())).map((b) => b.outerHTML),
  ]);
  check("every field has a label, every button a name", unlabelled.length === 0, unlabelled.join("\n"));
  const groups = await text(page, "#groups");
  check("a hostile API name stays text", groups.includes(XSS) && (await page.$$("img")).length === 0, groups);
  if (shots) await page.screenshot({ path: join(shots, "console-apis.png") });

  // publish, create an app, authorise it
  await page.selectOption("#publish-api", "orders");
  await submit(page, "publish-form", "Publish orders to RELEASE: done");
  check("the API shows as published", (await text(page, "#environments")).includes("RELEASE: xss, direct, orders"), await text(page, "#environments"));
  await page.fill("#app-id", "console-app");
  await submit(page, "app-form", "Create app console-app: done");
  const first = await text(page, "#secret-value");
  check("the new app's secret is shown once", /^[0-9a-f]{64}$/.test(first), first);
  await page.evaluate(() => {
    document.getElementById("notice").textContent = "";
  });
  await page.click('button[aria-label="Reset the secret of console-app"]', { timeout: WAIT });
  await page.waitForFunction(() => document.getElementById("notice").textContent !== "", null, { timeout: WAIT });
  const secret = await text(page, "#secret-value");
  check("reset: a new secret, shown once", /^[0-9a-f]{64}$/.test(secret) && secret !== first, `${first} -> ${secret}`);
  await page.selectOption("#authorize-app", "console-app");
  await page.selectOption("#authorize-api", "orders");
  await submit(page, "authorize-form", "Authorise console-app: done");
  await page.selectOption("#bind-api", "orders");
  await page.selectOption("#bind-policy", "limit");
  await submit(page, "bind-form", "Bind limit to orders: done");

  // debug a signed request
  await page.click("#secret-use");
  await page.selectOption("#debug-api", "orders");
  await page.fill("#debug-query", "page=2&size=10");
  await page.fill("#debug-headers", "Content-Type: application/json");
  await page.fill("#debug-body", '{"item":"book"}');
  let out = await debug(page);
  let echo = {};
  try {
    echo = JSON.parse(out.body);
  } catch {
    // checked below
  }
  check("a signed request reaches the backend: 200", out.status === "200" && echo.body === '{"item":"book"}' && echo.query === "page=2&size=10", JSON.stringify(out));
  check("the canonical request is shown", out.canonical.startsWith("POST\n/shop/orders/\npage=2&size=10\n"), out.canonical);
  check("it was relayed by the admin listener", out.via.includes("relayed"), out.via);
  check("on the group's debug domain", out.canonical.includes("\nhost:shop.debug.example\n"), out.canonical);
  if (shots) {
    await page.locator("#debug-section").screenshot({ path: join(shots, "console-debug.png") });
  }

  // an API whose CORS policy allows the console: sent directly from the page
  await page.selectOption("#authorize-api", "direct");
  await submit(page, "authorize-form", "Authorise console-app: done");
  await page.selectOption("#debug-api", "direct");
  await page.fill("#debug-body", "");
  out = await debug(page);
  check("a CORS-enabled API is called directly: 200", out.status === "200" && out.via.includes("directly"), JSON.stringify(out));
  await page.selectOption("#debug-api", "orders");
  await page.fill("#debug-query", "page=2&size=10");
  await page.fill("#debug-body", '{"item":"book"}');

  // a broken secret: 0303 and the explanation
  // the last character changed (a secret ending in "0" kept it before: a 1-in-16 flake)
  await page.fill("#debug-secret", secret.slice(0, -1) + (secret.endsWith("0") ? "1" : "0"));
  out = await debug(page);
  await page.waitForSelector("#explain-box:not([hidden])", { timeout: WAIT });
  const summary = await text(page, "#explain-summary");
  check("a broken secret gets 401 APIG.0303", out.status === "401" && out.body.includes("APIG.0303"), JSON.stringify(out));
  check("the 0303 is explained", summary.includes("identical") && summary.includes("secret"), summary);
  // a changed header after signing is not possible in the page; a header the gateway sees
  // differently is: the explanation names the line
  if (shots) await page.locator("#debug-section").screenshot({ path: join(shots, "console-explain.png") });

  // signing out forgets the token
  await page.click("#logout");
  check("signing out forgets the token", (await page.evaluate(() => sessionStorage.length)) === 0);
  check("no script errors, no dialogs", problems.length === 0, problems.join("\n"));
} catch (error) {
  check("console run", false, String(error?.stack ?? error));
} finally {
  await context?.close().catch(() => {});
  gateway?.close();
  await rm(dir, { recursive: true, force: true });
  clearTimeout(deadline);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
