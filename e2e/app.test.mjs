// End-to-end tests of the web application in real headless Chromium.
// run.sh starts the server and sets ECMO_URL; accounts are created there.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const BASE = process.env.ECMO_URL;
const SHOTS = process.env.ECMO_SCREENSHOTS ?? "../docs/img";
const PASSWORD = process.env.ECMO_E2E_PASSWORD;
if (!BASE || !PASSWORD) throw new Error("run through e2e/run.sh (ECMO_URL and ECMO_E2E_PASSWORD must be set)");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

let browser;
before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => { await browser?.close(); });

async function loggedIn(name, viewport = { width: 1440, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  // Nothing may be fetched from anywhere but the application.
  page.on("request", (r) => assert.ok(r.url().startsWith(BASE), `request outside the app: ${r.url()}`));
  await page.goto(`${BASE}/login`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  return page;
}

test("a wrong password is refused with a message", async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${BASE}/login`);
  await page.getByLabel("Name").fill("anna");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  assert.match(await page.getByRole("alert").innerText(), /wrong name or password/);
});

test("clinician: patient list, patient page, entering a value and a refused value", async () => {
  const page = await loggedIn("anna");
  await page.waitForURL(`${BASE}/patients`);
  // The list is built in the background at start; reload until it is ready.
  for (let i = 0; i < 60 && !(await page.locator("table.list").count()); i++) {
    await page.waitForTimeout(500);
    await page.reload();
  }
  const headers = await page.locator("table.list th").allInnerTexts();
  for (const h of ["Time on ECMO", "Current VIS", "Last lactate", "Last MAP", "Decision tree"]) {
    assert.ok(headers.some((x) => x.includes(h)), `column ${h}`);
  }
  // Sorting by VIS, highest first.
  await page.getByRole("link", { name: "Current VIS" }).click();
  await page.getByRole("link", { name: /Current VIS/ }).click();
  assert.match(page.url(), /sort=current_vis&order=desc/);
  await page.screenshot({ path: `${SHOTS}/patients.png`, fullPage: false });

  await page.locator("table.list tbody tr a").first().click();
  await page.waitForURL(/\/patients\/[^/?]+$/);
  assert.match(await page.locator("h1").innerText(), /^Run /);
  for (const caption of ["Mean arterial pressure", "Lactate", "VIS (Gaies 2010)", "Fluid balance (cumulative)", "ECMO pump flow"]) {
    assert.equal(await page.locator("figcaption", { hasText: caption }).count() >= 1, true, caption);
  }
  assert.ok((await page.locator("svg.chart").count()) >= 5);
  assert.ok(await page.getByText("SOFA", { exact: false }).first().isVisible());
  assert.match(await page.locator("section.decision h2").innerText(), /Decision tree/);
  assert.ok((await page.locator("section.decision li.step").count()) >= 1, "the tree's steps with their status");
  assert.ok((await page.locator("section.readiness tr").count()) >= 2, "the weaning-readiness panel");
  if (process.env.ECMO_E2E_MODEL) {
    // A fitted model's prediction is shown with its 95 % CI (or a blocking guard says why not).
    const pred = await page.locator("section.predictions").innerText();
    assert.match(pred, /95 % CI|blocking/, pred);
  }
  await page.screenshot({ path: `${SHOTS}/patient.png`, fullPage: false });

  const facts = await page.locator("p.facts").innerText();
  const start = facts.match(/flow start (\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/);
  assert.ok(start, facts);
  const when = `${start[1]} ${start[2]}`;

  // A GCS of 22 is impossible: refused, with the reason beside the value field.
  await page.getByLabel("What").selectOption("gcs");
  assert.equal(await page.getByLabel("Kind").inputValue(), "observation");
  await page.getByLabel("Time").fill(when);
  await page.getByLabel("Value").fill("22");
  await page.getByRole("button", { name: "Save" }).click();
  const err = page.locator('.field-error[data-field="value"]');
  assert.match(await err.innerText(), /possible range|physiologically/);
  assert.equal(await page.getByLabel("Value").inputValue(), "22", "the entered value is kept for correction");
  await page.locator("#entry").scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/entry-error.png`, fullPage: false });

  // A plausible echo finding is stored and appears among the events.
  await page.getByLabel("What").selectOption("echo_lvef");
  await page.getByLabel("Time").fill(when);
  await page.getByLabel("Value").fill("35");
  await page.getByRole("button", { name: "Save" }).click();
  assert.match(await page.getByRole("status").innerText(), /Saved: echo lvef/);
  assert.ok(await page.locator("table.events td", { hasText: "echo lvef 35" }).count() >= 1);

  // The admin pages are not for clinicians.
  const res = await page.goto(`${BASE}/admin/audit`);
  assert.equal(res.status(), 403);
});

test("researcher: pseudonymised cohort without identifiers or dates", async () => {
  const page = await loggedIn("rob");
  await page.waitForURL(`${BASE}/research`);
  for (let i = 0; i < 60 && !(await page.locator("table.list").count()); i++) {
    await page.waitForTimeout(500);
    await page.reload();
  }
  const text = await page.locator("main").innerText();
  assert.doesNotMatch(text, /SYN-[RP]\d/, "no run or patient ids");
  assert.doesNotMatch(text, /\b(19|20)\d\d-\d\d-\d\d/, "no calendar dates");
  assert.match(text, /S-[0-9a-f]{16}/);
  await page.screenshot({ path: `${SHOTS}/research.png`, fullPage: false });
  await page.locator("table.list tbody tr a").first().click();
  assert.ok((await page.locator("svg.chart").count()) >= 3);
  assert.doesNotMatch(await page.locator("main").innerText(), /SYN-[RP]\d/);
  const res = await page.goto(`${BASE}/patients`);
  assert.equal(res.status(), 403);

  // Run a built-in study and follow it to its report.
  await page.goto(`${BASE}/studies`);
  const row = page.locator("tr", { hasText: "vad" }).filter({ has: page.locator("button") }).first();
  await row.getByLabel("bootstrap").fill("20");
  await row.getByRole("button").click();
  await page.waitForURL(/\/studies\/runs\/\d+$/);
  await page.getByText("Done.").waitFor({ timeout: 120000 });
  await page.screenshot({ path: `${SHOTS}/study-done.png`, fullPage: false });
  await page.getByRole("link", { name: "Open the report" }).click();
  const report = await page.locator("body").innerText();
  assert.doesNotMatch(report, /SYN-[RP]\d/, "the report names runs by pseudonym");
  await page.screenshot({ path: `${SHOTS}/web-study-report.png`, fullPage: false });

  await page.goto(`${BASE}/models`);
  assert.match(await page.locator("main").innerText(), /Prediction models/);
  await page.screenshot({ path: `${SHOTS}/models.png`, fullPage: false });
});

test("admin: the audit log shows who read which patient, chain intact", async () => {
  const page = await loggedIn("boss");
  await page.waitForURL(`${BASE}/admin`);
  await page.getByRole("link", { name: "Audit log" }).click();
  assert.match(await page.locator("main").innerText(), /Hash chain intact/);
  const rows = await page.locator("table.audit tr", { hasText: "anna" }).allInnerTexts();
  assert.ok(rows.some((r) => /read/.test(r) && /SYN-P\d/.test(r)), "a clinician's read of a patient is logged");
  assert.ok(rows.some((r) => /create/.test(r) && /echo_lvef/.test(r)), "the entry is logged");
  await page.screenshot({ path: `${SHOTS}/audit.png`, fullPage: false });
});
