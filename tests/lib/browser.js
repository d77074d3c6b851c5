'use strict';
// Browser tests with Debian's Chromium (/usr/bin/chromium) driven by playwright-core, which
// never downloads a browser. A test file launches one headless Chromium (playwright gives it a
// fresh temporary profile; launch it in useMesh's setup) and opens pages in separate browser
// contexts, so two pages are two people with their own cookies.
//
// Every page records console errors, uncaught exceptions and failed requests in page.problems;
// a test asserts that list is empty. Screenshots go to RTMESH_ARTIFACTS (set by ctest to
// build/<type>/artifacts) so CI keeps them.

const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.RTMESH_CHROMIUM || '/usr/bin/chromium';
const WAIT_MS = 10000;
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

function artifactsDir() {
  const dir = process.env.RTMESH_ARTIFACTS || path.join(__dirname, '..', '..', 'build', 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// env: the browser's environment (default: this process's), e.g. a HOME whose NSS database
// trusts a test CA (lib/tls.js).
async function launchBrowser(env = process.env) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (scripts/deps.sh --with-browser)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true, timeout: 30000, env });
}

// A page in a new context (its own cookies) of the given viewport; page.problems collects
// every console error, page error and failed request.
async function openPage(browser, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => page.problems.push(`request failed: ${req.url()} (${req.failure() && req.failure().errorText})`));
  return page;
}

// Waits until fn(arg) evaluated in the page is truthy; fails naming `what`.
async function waitFor(page, what, fn, arg) {
  try {
    return await page.waitForFunction(fn, arg, { timeout: WAIT_MS, polling: 50 });
  } catch (err) {
    throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}: ${err.message.split('\n')[0]}`);
  }
}

async function screenshot(page, name) {
  const file = path.join(artifactsDir(), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

module.exports = { launchBrowser, openPage, waitFor, screenshot, DESKTOP, PHONE };
