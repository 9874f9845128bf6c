// Browser test of an orgscan HTML report: opens the file in the system's
// headless Chromium (driven by playwright-core, no downloaded browser) and
// checks that the page requests nothing, logs no error, shows the expected
// totals, and that sorting and both filters of the findings table work.
//
// Usage: node tools/report-test.mjs REPORT.html EXPECTED.json SCREENSHOT.png
//
// EXPECTED.json:
//   {"totals": {"total-findings": 50, "total-monthly": 1234.5, ...},
//    "rows": 50,
//    "filter": {"text": "eu-west-1", "rows": 13},
//    "check": {"id": "rds-idle-instance", "rows": 9}}
// "filter" and "check" are optional (a region and a check of the page are
// used instead, and only the page's own consistency is checked).
//
// Exit status: 0 when every check passes, 1 on a failure (one line per
// failure on stderr), 2 on bad usage or a missing browser or module.
// CHROMIUM overrides the browser's path (default /usr/bin/chromium).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const started = Date.now();
const [reportPath, expectedPath, screenshotPath] = process.argv.slice(2);
if (!reportPath || !expectedPath || !screenshotPath || process.argv.length > 5) {
  console.error("usage: node tools/report-test.mjs REPORT.html EXPECTED.json SCREENSHOT.png");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!fs.existsSync(executablePath)) {
  console.error(`report-test: no Chromium at ${executablePath}: run \`make tools\``);
  process.exit(2);
}
let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch (err) {
  console.error(`report-test: cannot load playwright-core (${err.code || err.message}): run \`make tools\``);
  process.exit(2);
}
const expected = JSON.parse(fs.readFileSync(expectedPath, "utf8"));
const url = pathToFileURL(path.resolve(reportPath)).href;

class Failure extends Error {}
function assert(ok, message) {
  if (!ok) {
    throw new Failure(message);
  }
}

const requests = []; // every request but the report itself
const consoleErrors = [];
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "orgscan-report-test-"));
let context;
let failed = false;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });
  context.on("request", (req) => {
    if (req.url() !== url) {
      requests.push(`${req.method()} ${req.url()}`);
    }
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (msg) => {
    if (msg.type() === "error") {
      consoleErrors.push(msg.text());
    }
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  await page.goto(url, { waitUntil: "load" });
  await checkPage(page);
  // The screenshot shows the page as it opens.
  await page.goto(url, { waitUntil: "load" });
  await page.screenshot({ path: screenshotPath, fullPage: true });
  // Let anything the page might still do (a late fetch) show up.
  await page.waitForTimeout(200);
  assert(requests.length === 0, `the page made ${requests.length} request(s): ${requests.join(", ")}`);
  assert(consoleErrors.length === 0, `console errors: ${consoleErrors.join(" | ")}`);
} catch (err) {
  failed = true;
  if (err instanceof Failure) {
    console.error(`report-test: FAIL: ${err.message}`);
  } else {
    console.error(`report-test: ERROR: ${err.stack || err}`);
  }
  if (requests.length) console.error(`report-test: requests: ${requests.join(", ")}`);
  if (consoleErrors.length) console.error(`report-test: console errors: ${consoleErrors.join(" | ")}`);
} finally {
  await context?.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
if (failed) {
  process.exit(1);
}
console.log(`report-test: ok (${Date.now() - started} ms, screenshot ${screenshotPath})`);

async function checkPage(page) {
  assert(await page.locator("#controls").isVisible(), "the table controls are hidden: the page's script did not run");

  for (const [id, want] of Object.entries(expected.totals || {})) {
    const el = page.locator(`#${id}`);
    assert((await el.count()) === 1, `no #${id}`);
    const value = Number(await el.getAttribute("data-value"));
    assert(Math.abs(value - want) < 0.005, `#${id} data-value is ${value}, want ${want}`);
    const text = (await el.textContent()).trim();
    const shown = Number(text.replace(/[$,]/g, ""));
    assert(await el.isVisible() && Math.abs(shown - want) < 0.005, `#${id} shows "${text}", want ${want}`);
  }

  const all = expected.rows;
  assert((await visibleRows(page)).length === all, `${(await visibleRows(page)).length} rows visible, want ${all}`);
  assert((await rowCount(page)) === all, `#row-count says ${await rowCount(page)}, want ${all}`);

  // Sort by a text column, then by cost both ways.
  await page.click("#findings thead th:nth-child(1) button");
  const accounts = (await visibleRows(page)).map((r) => r.cells[0]);
  assert(await ariaSort(page, 1) === "ascending", "the account header is not marked ascending");
  for (let i = 1; i < accounts.length; i++) {
    assert(accounts[i - 1].localeCompare(accounts[i], undefined, { numeric: true, sensitivity: "base" }) <= 0,
      `accounts not ascending: "${accounts[i - 1]}" before "${accounts[i]}"`);
  }
  const usdHeader = 'th[data-type="usd"] button';
  for (const dir of ["descending", "ascending"]) {
    await page.click(usdHeader);
    const usd = (await visibleRows(page)).map((r) => r.usd);
    assert(usd.length === all, `sorting lost rows: ${usd.length} of ${all}`);
    assert(await page.getAttribute('th[data-type="usd"]', "aria-sort") === dir, `$/month header is not marked ${dir}`);
    const firstUnknown = usd.indexOf(null);
    if (firstUnknown >= 0) {
      assert(usd.slice(firstUnknown).every((v) => v === null), `${dir}: a priced row after an unknown price`);
    }
    const priced = usd.filter((v) => v !== null);
    for (let i = 1; i < priced.length; i++) {
      const ok = dir === "descending" ? priced[i - 1] >= priced[i] : priced[i - 1] <= priced[i];
      assert(ok, `$/month not ${dir}: ${priced[i - 1]} before ${priced[i]}`);
    }
  }

  // The text filter keeps exactly the rows with the text in some cell.
  const rowsBefore = await visibleRows(page);
  const text = expected.filter?.text || rowsBefore[0].cells[1];
  await page.fill("#filter", text);
  const kept = await visibleRows(page);
  const want = rowsBefore.filter((r) => r.cells.some((c) => c.toLowerCase().includes(text.toLowerCase()))).length;
  assert(kept.length === want, `filter "${text}": ${kept.length} rows visible, ${want} contain it`);
  assert(kept.length < all && kept.length > 0, `filter "${text}" kept ${kept.length} of ${all} rows: not a useful test`);
  if (expected.filter) {
    assert(kept.length === expected.filter.rows, `filter "${text}": ${kept.length} rows, want ${expected.filter.rows}`);
  }
  assert((await rowCount(page)) === kept.length, `filter "${text}": #row-count says ${await rowCount(page)}, ${kept.length} visible`);
  await page.fill("#filter", "");
  assert((await rowCount(page)) === all, `clearing the filter shows ${await rowCount(page)} rows, want ${all}`);

  // The check filter keeps exactly that check's rows.
  const options = await page.$$eval("#check-filter option", (os) => os.map((o) => o.value).filter(Boolean));
  const check = expected.check?.id || options[0];
  assert(options.includes(check), `#check-filter has no option ${check} (${options.join(", ")})`);
  await page.selectOption("#check-filter", check);
  const ofCheck = await visibleRows(page);
  assert(ofCheck.length > 0 && ofCheck.every((r) => r.check === check && r.cells[2] === check),
    `check filter ${check}: rows of other checks remain`);
  const wantCheck = expected.check ? expected.check.rows : rowsBefore.filter((r) => r.check === check).length;
  assert(ofCheck.length === wantCheck, `check filter ${check}: ${ofCheck.length} rows, want ${wantCheck}`);
  assert((await rowCount(page)) === ofCheck.length, `check filter: #row-count says ${await rowCount(page)}, ${ofCheck.length} visible`);
}

// visibleRows returns the findings rows a reader sees, in order.
async function visibleRows(page) {
  return page.$$eval("#findings tbody tr[data-usd]", (trs) => trs
    .filter((tr) => tr.getClientRects().length > 0)
    .map((tr) => ({
      usd: tr.dataset.usd === "" ? null : Number(tr.dataset.usd),
      check: tr.dataset.check,
      cells: Array.from(tr.cells, (td) => td.textContent.replace(/\s+/g, " ").trim()),
    })));
}

async function rowCount(page) {
  return Number((await page.textContent("#row-count")).trim());
}

async function ariaSort(page, column) {
  return page.getAttribute(`#findings thead th:nth-child(${column})`, "aria-sort");
}
